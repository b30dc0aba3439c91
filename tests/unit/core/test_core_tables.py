"""core's tables name the person of an audit entry without importing accounts."""

import subprocess
import sys

from app.core.tables import AuditEntry


def test_importing_core_tables_imports_no_domain():
    code = (
        "import sys, app.core.tables; "
        "print(sorted(m for m in sys.modules if m.startswith('app.') "
        "and not m.startswith(('app.core', 'app.settings'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_actor_is_still_a_foreign_key_to_the_user_table():
    from app.accounts.tables import User

    meta = AuditEntry.actor._foreign_key_meta
    assert meta.resolved_references is User
    assert meta.on_delete.value == "SET NULL"
