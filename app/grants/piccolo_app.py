import os

from piccolo.conf.apps import AppConfig

from app.grants.tables import (
    Agreement,
    AgreementTemplate,
    CallTotals,
    Grant,
    GrantNotice,
    Instalment,
    LedgerEntry,
    PaymentBatch,
    PaymentBatchLine,
    Recovery,
    Report,
    ReportAttachment,
    ScheduleAmendment,
)

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="grants",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[
        Grant,
        Instalment,
        ScheduleAmendment,
        Recovery,
        LedgerEntry,
        Report,
        ReportAttachment,
        GrantNotice,
        CallTotals,
        Agreement,
        AgreementTemplate,
        PaymentBatch,
        PaymentBatchLine,
    ],
    migration_dependencies=[
        "app.accounts.piccolo_app",
        "app.calls.piccolo_app",
        "app.applications.piccolo_app",
        "app.organisations.piccolo_app",
        "app.funders.piccolo_app",
    ],
    commands=[],
)
