import os

from piccolo.conf.apps import AppConfig

from app.calls.tables import Call, FormVersion

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="calls",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[Call, FormVersion],
    migration_dependencies=["app.accounts.piccolo_app", "app.funders.piccolo_app"],
    commands=[],
)
