from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-18T10:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "data versions: the triggers of app/versions.py (decisions comes after every table)"
# core.versions.digest of the list this migration was written for: when the list
# changes, a new migration (with its own INSTALLS) installs it again on existing
# databases; tests/integration/core/test_kept_pages.py checks the latest one.
INSTALLS = "9522795dc39eb13f"


async def triggers():
    # The list as it is when the migration runs: a later change of the list comes with
    # a migration of its own calling install() again (it drops the triggers it made).
    from app import versions
    from app.core.versions import install

    await install(versions.TRACKED)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="decisions", description=DESCRIPTION)
    manager.add_raw(triggers)
    return manager
