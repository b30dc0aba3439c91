from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder


async def indexes():
    # The officers' table of a call, by reference (its default order), and the
    # ranking: a call's files by status with the amount requested (covering).
    engine = engine_finder()
    await engine.run_ddl(
        'CREATE INDEX IF NOT EXISTS application_call_reference ON application ("call", reference)'
    )
    await engine.run_ddl(
        "CREATE INDEX IF NOT EXISTS application_call_status_requested "
        'ON application ("call", status, requested_cents)'
    )


ID = "2026-12-03T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes: a call's files by reference, and by status with the amount requested"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="applications", description=DESCRIPTION)
    manager.add_raw(indexes)
    return manager
