from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-04T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "The months after which the funder's silence on a complete file means rejection "
    "(call.silence_months, two by default), printed on the receipt"
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="calls", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Call",
        tablename="call",
        column_name="silence_months",
        db_column_name="silence_months",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 2,
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
    return manager
