from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

# The ledger summed per grant (payments - reversals; recoveries), as on the day of this
# migration; from now on grants.totals keeps them.
PAID = (
    "COALESCE((SELECT SUM(CASE e.kind WHEN 'payment' THEN e.amount_cents "
    "WHEN 'reversal' THEN -e.amount_cents ELSE 0 END) "
    'FROM ledger_entry e WHERE e."grant" = "grant".id), 0)'
)
RECOVERED = (
    "COALESCE((SELECT SUM(CASE WHEN e.kind = 'recovery' THEN e.amount_cents ELSE 0 END) "
    'FROM ledger_entry e WHERE e."grant" = "grant".id), 0)'
)
REMAINING = "(amount_cents - reduction_cents - paid_cents + recovered_cents)"


async def keep_totals():
    engine = engine_finder()
    await engine.run_ddl(f'UPDATE "grant" SET paid_cents = {PAID}, recovered_cents = {RECOVERED}')
    await engine.run_ddl(
        'INSERT INTO grant_call_totals ("call", grants, committed_cents, reduced_cents, '
        "paid_cents, recovered_cents, to_pay_cents, to_recover_cents) "
        'SELECT "call", COUNT(*), SUM(amount_cents), SUM(reduction_cents), SUM(paid_cents), '
        f"SUM(recovered_cents), SUM(CASE WHEN {REMAINING} > 0 THEN {REMAINING} ELSE 0 END), "
        f"SUM(CASE WHEN {REMAINING} < 0 THEN -{REMAINING} ELSE 0 END) "
        'FROM "grant" GROUP BY "call"'
    )


async def indexes():
    # The dashboard's monthly sums read only this index (kind, month, amount; the grant
    # for a funder's or a call's); its work list of approved instalments, oldest first.
    engine = engine_finder()
    await engine.run_ddl(
        "CREATE INDEX IF NOT EXISTS ledger_entry_kind_date_amount "
        'ON ledger_entry (kind, value_date, amount_cents, "grant")'
    )
    await engine.run_ddl(
        "CREATE INDEX IF NOT EXISTS instalment_status_approved "
        "ON instalment (status, approved_at)"
    )


ID = "2026-12-03T14:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "the ledger's sums as of now; indexes for the finance dashboard"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="grants", description=DESCRIPTION)
    # Raw statements run before a migration's schema changes: the columns and the
    # table are added by the previous migration.
    manager.add_raw(keep_totals)
    manager.add_raw(indexes)
    return manager
