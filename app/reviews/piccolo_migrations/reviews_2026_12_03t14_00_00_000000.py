from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder


async def indexes():
    # A reviewer's assignments, counted (all, submitted) and listed.
    await engine_finder().run_ddl(
        "CREATE INDEX IF NOT EXISTS review_assignment_reviewer_submitted "
        "ON review_assignment (reviewer, submitted_at, id)"
    )


async def store_every_mark():
    # The ranking now only reads the stored marks (a GET never writes): every call's
    # marks are computed once here, as the saving of its settings does from now on.
    from app.calls.tables import Call
    from app.reviews.marks import refresh_marks

    for call in await Call.select(Call.id).where(Call.rubric_locked_at.is_not_null()):
        await refresh_marks(call["id"])


ID = "2026-12-03T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index of a reviewer's assignments; every file's mark stored"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="reviews", description=DESCRIPTION)
    manager.add_raw(indexes)
    manager.add_raw(store_every_mark)
    return manager
