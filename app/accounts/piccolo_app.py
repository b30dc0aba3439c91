import os

from piccolo.conf.apps import AppConfig

from app.accounts.tables import AccountToken, ApiToken, RecoveryCode, RoleGrant, SiteSetting, User

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[User, RoleGrant, AccountToken, RecoveryCode, SiteSetting, ApiToken],
    migration_dependencies=[],
    commands=[],
)
