import os

from piccolo.conf.apps import AppConfig

from app.decisions.tables import Decision, DecisionSettings, Letter, LetterJob

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="decisions",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[DecisionSettings, Decision, LetterJob, Letter],
    # Its last migration makes the data versions' triggers on every domain's tables.
    migration_dependencies=[
        "app.core.piccolo_app",
        "app.funders.piccolo_app",
        "app.organisations.piccolo_app",
        "app.reviews.piccolo_app",
        "app.accounts.piccolo_app",
        "app.calls.piccolo_app",
        "app.applications.piccolo_app",
        "app.grants.piccolo_app",
    ],
    commands=[],
)
