import os

from piccolo.conf.apps import AppConfig

from app.reviews.tables import (
    Assignment,
    Conflict,
    Decline,
    FileMark,
    PoolMember,
    ReviewSettings,
)

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="reviews",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[ReviewSettings, PoolMember, Conflict, Assignment, FileMark, Decline],
    migration_dependencies=[
        "app.accounts.piccolo_app",
        "app.calls.piccolo_app",
        "app.applications.piccolo_app",
        "app.organisations.piccolo_app",
    ],
    commands=[],
)
