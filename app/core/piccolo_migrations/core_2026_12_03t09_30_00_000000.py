from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-03T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "The audit chain's hash version per entry (audit_entry.hash_version): "
    "1 = unkeyed SHA-256, the entries written before; 2 = keyed HMAC-SHA256"
)


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="core", description=DESCRIPTION
    )

    # Additive: the existing entries take the default, 1, which is what they are.
    manager.add_column(
        table_class_name="AuditEntry",
        tablename="audit_entry",
        column_name="hash_version",
        db_column_name="hash_version",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 1,
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
