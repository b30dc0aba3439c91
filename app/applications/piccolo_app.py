import os

from piccolo.conf.apps import AppConfig

from app.applications.tables import Application, Attachment, Message, ThreadRead

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="applications",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[Application, Message, Attachment, ThreadRead],
    migration_dependencies=[
        "app.accounts.piccolo_app",
        "app.calls.piccolo_app",
        "app.organisations.piccolo_app",
    ],
    commands=[],
)
