from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Integer, Serial, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Application(Table, tablename="application", schema=None):
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


ID = "2026-12-03T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "The sworn statement of the submitter (application.declarant_name, declarant_capacity) "
    "and how far each person has read a file's messages (thread_read)"
)


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


def _foreign_key(references):
    return _plain(
        references=references,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
        null=True,
        index=True,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="applications", description=DESCRIPTION)

    for name, length in (("declarant_name", 200), ("declarant_capacity", 100)):
        manager.add_column(
            table_class_name="Application",
            tablename="application",
            column_name=name,
            db_column_name=name,
            column_class_name="Varchar",
            column_class=Varchar,
            params=_plain(length=length, default=""),
            schema=None,
        )

    manager.add_table(class_name="ThreadRead", tablename="thread_read", schema=None, columns=None)
    for name, references in (("application", Application), ("user", User)):
        manager.add_column(
            table_class_name="ThreadRead",
            tablename="thread_read",
            column_name=name,
            db_column_name=name,
            column_class_name="ForeignKey",
            column_class=ForeignKey,
            params=_foreign_key(references),
            schema=None,
        )
    manager.add_column(
        table_class_name="ThreadRead",
        tablename="thread_read",
        column_name="last_message",
        db_column_name="last_message",
        column_class_name="Integer",
        column_class=Integer,
        params=_plain(default=0),
        schema=None,
    )

    return manager
