from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder


async def mark_reductions():
    # Until now a reduction was told by its reason's text; the proportional reductions
    # were always written « Réduction proportionnelle de … » by the service.
    await engine_finder().run_ddl(
        "UPDATE schedule_amendment SET kind = 'reduction' "
        "WHERE reason LIKE 'Réduction proportionnelle de %'"
    )


ID = "2026-12-03T10:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "the proportional reductions already made are of kind reduction"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="grants", description=DESCRIPTION)
    # Raw statements run before a migration's schema changes: the column is added by
    # the previous migration.
    manager.add_raw(mark_reductions)
    return manager
