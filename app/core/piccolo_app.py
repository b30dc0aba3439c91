import os

from piccolo.conf.apps import AppConfig

from app.core.tables import AuditEntry, DataVersion, DeliveryAttempt, OutboxMessage

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[AuditEntry, OutboxMessage, DeliveryAttempt, DataVersion],
    # The audit trail points at accounts' User table.
    migration_dependencies=["app.accounts.piccolo_app"],
    commands=[],
)
