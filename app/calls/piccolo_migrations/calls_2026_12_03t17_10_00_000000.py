from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Date
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T17:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "When the funder expects to decide (call.decision_expected_on), optional"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="calls", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Call",
        tablename="call",
        column_name="decision_expected_on",
        db_column_name="decision_expected_on",
        column_class_name="Date",
        column_class=Date,
        params={
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
