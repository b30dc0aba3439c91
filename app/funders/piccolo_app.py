import os

from piccolo.conf.apps import AppConfig

from app.funders.tables import Funder

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="funders",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[Funder],
    migration_dependencies=[],
    commands=[],
)
