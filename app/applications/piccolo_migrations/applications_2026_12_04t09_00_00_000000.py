from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "The ineligibility decision's PDF, stored once at screening "
    "(application.ineligibility_file: its storage id)"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="applications", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Application",
        tablename="application",
        column_name="ineligibility_file",
        db_column_name="ineligibility_file",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": None,
            "null": True,
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
    return manager
