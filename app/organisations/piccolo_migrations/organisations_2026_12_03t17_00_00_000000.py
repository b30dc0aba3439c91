from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Organisation(Table, tablename="organisation", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


class User(Table, tablename="guichet_user", schema=None):
    id = Serial(
        null=False,
        primary_key=True,
        unique=False,
        index=False,
        index_method=IndexMethod.btree,
        choices=None,
        db_column_name="id",
        secret=False,
    )


ID = "2026-12-03T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "join_request: a person asks to join an organisation whose SIRET is registered"


def _plain(**params):
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **params,
    }


def _foreign_key(references, on_delete, *, index):
    # Piccolo's foreign keys are nullable columns, as in the first migration.
    return _plain(
        references=references,
        on_delete=on_delete,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
        index=index,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="organisations", description=DESCRIPTION)
    manager.add_table(class_name="JoinRequest", tablename="join_request", schema=None, columns=None)

    def column(name, class_name, column_class, params):
        manager.add_column(
            table_class_name="JoinRequest",
            tablename="join_request",
            column_name=name,
            db_column_name=name,
            column_class_name=class_name,
            column_class=column_class,
            params=params,
            schema=None,
        )

    column(
        "organisation",
        "ForeignKey",
        ForeignKey,
        _foreign_key(Organisation, OnDelete.cascade, index=True),
    )
    column("user", "ForeignKey", ForeignKey, _foreign_key(User, OnDelete.cascade, index=True))
    column("status", "Varchar", Varchar, _plain(length=10, default="pending"))
    column("created_at", "Timestamptz", Timestamptz, _plain(default=TimestamptzNow()))
    column("decided_at", "Timestamptz", Timestamptz, _plain(null=True, default=None))
    column(
        "decided_by",
        "ForeignKey",
        ForeignKey,
        _foreign_key(User, OnDelete.set_null, index=False),
    )
    return manager
