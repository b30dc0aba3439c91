from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    BigInt,
    Date,
    ForeignKey,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


def _serial() -> Serial:
    return Serial(
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
    id = _serial()


class Grant(Table, tablename="grant", schema=None):
    id = _serial()


class Instalment(Table, tablename="instalment", schema=None):
    id = _serial()


class LedgerEntry(Table, tablename="ledger_entry", schema=None):
    id = _serial()


class PaymentBatch(Table, tablename="payment_batch", schema=None):
    id = _serial()


ID = "2026-12-17T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payment batches (lots de mandatement): payment_batch, payment_batch_line"


def _params(default, *, null: bool = False, index: bool = False, **more) -> dict:
    return {
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": False,
        "index": index,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **more,
    }


def _fk(references, on_delete, *, index: bool = False) -> dict:
    params = _params(None, null=True, index=index)
    del params["default"]
    return {
        "references": references,
        "on_delete": on_delete,
        "on_update": OnUpdate.cascade,
        "target_column": None,
        **params,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="grants", description=DESCRIPTION)

    def column(cls_name: str, table: str, name: str, column_class, params: dict) -> None:
        manager.add_column(
            table_class_name=cls_name,
            tablename=table,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )

    manager.add_table(class_name="PaymentBatch", tablename="payment_batch", schema=None, columns=None)
    batch = ("PaymentBatch", "payment_batch")
    column(*batch, "status", Varchar, _params("open", length=10))
    column(*batch, "created_at", Timestamptz, _params(TimestamptzNow()))
    column(*batch, "created_by", ForeignKey, _fk(User, OnDelete.set_null))
    column(*batch, "exported_at", Timestamptz, _params(None, null=True))
    column(*batch, "mandate_reference", Varchar, _params("", length=60))
    column(*batch, "value_date", Date, _params(None, null=True))
    column(*batch, "paid_at", Timestamptz, _params(None, null=True))
    column(*batch, "paid_by", ForeignKey, _fk(User, OnDelete.set_null))

    manager.add_table(
        class_name="PaymentBatchLine", tablename="payment_batch_line", schema=None, columns=None
    )
    line = ("PaymentBatchLine", "payment_batch_line")
    column(*line, "batch", ForeignKey, _fk(PaymentBatch, OnDelete.restrict, index=True))
    column(*line, "instalment", ForeignKey, _fk(Instalment, OnDelete.restrict, index=True))
    column(*line, "grant", ForeignKey, _fk(Grant, OnDelete.restrict, index=True))
    column(*line, "amount_cents", BigInt, _params(0))
    column(*line, "mandate_reference", Varchar, _params("", length=60))
    column(*line, "entry", ForeignKey, _fk(LedgerEntry, OnDelete.restrict))
    column(*line, "outcome", Varchar, _params("", length=10))
    return manager
