from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-18T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "data_version: counters moved by triggers with the writes they follow"


async def data_version():
    await engine_finder().run_ddl(
        "CREATE TABLE IF NOT EXISTS data_version "
        "(name VARCHAR(80) PRIMARY KEY, version BIGINT NOT NULL DEFAULT 0)"
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(data_version)
    return manager
