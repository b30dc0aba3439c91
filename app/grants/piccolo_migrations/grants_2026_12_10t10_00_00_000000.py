from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-10T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report_attachment.document (which required document it is), report.receipt_file"


def _varchar(length: int, default, null: bool) -> dict:
    return {
        "length": length,
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="grants", description=DESCRIPTION)
    manager.add_column(
        table_class_name="ReportAttachment",
        tablename="report_attachment",
        column_name="document",
        db_column_name="document",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_varchar(20, "other", False),
        schema=None,
    )
    manager.add_column(
        table_class_name="Report",
        tablename="report",
        column_name="receipt_file",
        db_column_name="receipt_file",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_varchar(64, None, True),
        schema=None,
    )
    return manager
