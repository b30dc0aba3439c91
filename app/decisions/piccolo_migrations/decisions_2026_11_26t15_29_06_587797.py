from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder


async def one_letter_per_batch():
    # A batch writes one letter per file, even when two workers race (corrections
    # are written outside any batch: job is NULL, and NULLs never collide). The
    # engine is looked up when the migration runs, not when it is imported.
    await engine_finder().run_ddl(
        'CREATE UNIQUE INDEX IF NOT EXISTS letter_job_application ON "letter" ("job", "application")'
    )

ID = "2026-11-26T15:29:06:587797"
VERSION = "1.38.0"
DESCRIPTION = ""


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="decisions", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="LetterJob",
        tablename="letter_batch",
        column_name="worker",
        db_column_name="worker",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 32,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_raw(one_letter_per_batch)

    return manager
