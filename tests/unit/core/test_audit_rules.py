"""Audit trail rules that need no database: hashing (unkeyed and keyed), verification,
refusals, CSV."""

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.core import audit

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KEY = b"k" * 32
WRONG_KEY = b"w" * 32


def rehash(row: dict, prev: str, *, version: int, key: bytes | None) -> None:
    """Chain ``row`` after ``prev`` as ``version`` (what a forger recomputes)."""
    row.update(prev_hash=prev, hash_version=version)
    row["hash"] = audit.entry_hash(
        prev,
        version=version,
        key=key,
        created_at=row["created_at"],
        actor_ref=row["actor_ref"],
        actor_digest=row["actor_digest"],
        action=row["action"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        summary=row["summary"],
    )


def make_chain(count: int, *, unkeyed: int = 0, key: bytes = KEY) -> list[dict]:
    """Rows as the database returns them, chained the way ``record`` chains them; the
    first ``unkeyed`` ones as the entries written before the audit key (version 1)."""
    rows, prev = [], audit.GENESIS_HASH
    for n in range(count):
        salt = f"{n:032x}"
        label, ip = f"person{n}@example.fr", "203.0.113.7"
        summary = audit.summary_json({"n": n, "status": "published"})
        digest = audit.actor_digest(salt, label, ip)
        row = {
            "id": n + 1,
            "created_at": T0 + timedelta(seconds=n),
            "actor": n + 10,
            "actor_ref": n + 10,
            "actor_label": label,
            "ip": ip,
            "actor_salt": salt,
            "actor_digest": digest,
            "action": "calls.published",
            "object_type": "call",
            "object_id": str(n),
            "summary": summary,
        }
        rehash(row, prev, version=audit.UNKEYED if n < unkeyed else audit.KEYED, key=key)
        rows.append(row)
        prev = row["hash"]
    return rows


def first_break(rows: list[dict], key: bytes = KEY) -> tuple[int | None, str]:
    """The walk ``verify_chain`` makes, on rows in memory."""
    prev, keyed = audit.GENESIS_HASH, False
    for row in rows:
        reason = audit.check_entry(row, prev, key=key, after_keyed=keyed)
        if reason:
            return row["id"], reason
        keyed = keyed or row["hash_version"] == audit.KEYED
        prev = row["hash"]
    return None, ""


def test_canonical_json_is_one_spelling_per_value():
    assert audit.canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
    with pytest.raises(ValueError):
        audit.canonical_json({"x": float("nan")})


def test_an_intact_chain_holds():
    assert first_break(make_chain(5)) == (None, "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("summary", '{"n":2,"status":"draft"}'),
        ("action", "calls.deleted"),
        ("object_id", "99"),
        ("created_at", T0 + timedelta(days=1)),
        ("actor_ref", 1),
    ],
)
def test_a_changed_field_breaks_that_entry(field, value):
    rows = make_chain(5)
    rows[2][field] = value
    entry_id, reason = first_break(rows)
    assert entry_id == 3
    assert "content changed" in reason


def test_summary_rewritten_with_other_spacing_still_holds():
    rows = make_chain(3)
    rows[1]["summary"] = '{ "status": "published", "n": 1 }'
    assert first_break(rows) == (None, "")


def test_new_entries_are_keyed_hmacs_not_plain_sha256():
    row = make_chain(1)[0]
    assert row["hash_version"] == audit.HASH_VERSION == audit.KEYED
    rehash(plain := dict(row), audit.GENESIS_HASH, version=audit.UNKEYED, key=None)
    assert plain["hash"] != row["hash"]
    rehash(other := dict(row), audit.GENESIS_HASH, version=audit.KEYED, key=WRONG_KEY)
    assert other["hash"] != row["hash"]


def test_a_keyed_chain_does_not_verify_with_another_key():
    assert first_break(make_chain(3), key=WRONG_KEY) == (1, audit.HASH_MISMATCH)


@pytest.mark.parametrize(
    ("version", "key"), [(audit.KEYED, WRONG_KEY), (audit.KEYED, b"x" * 64)], ids=["wrong", "long"]
)
def test_a_rewrite_rehashed_with_a_guessed_key_is_seen_where_it_starts(version, key):
    rows = make_chain(6)
    rows[2]["summary"] = '{"n":2,"status":"rejected"}'
    prev = rows[1]["hash"]
    for row in rows[2:]:  # every later hash recomputed, without the real key
        rehash(row, prev, version=version, key=key)
        prev = row["hash"]
    assert first_break(rows) == (3, audit.HASH_MISMATCH)


def test_a_rewrite_rehashed_as_unkeyed_sha256_is_a_downgrade():
    rows = make_chain(6)
    rows[3]["action"] = "calls.deleted"
    prev = rows[2]["hash"]
    for row in rows[3:]:
        rehash(row, prev, version=audit.UNKEYED, key=None)
        prev = row["hash"]
    entry_id, reason = first_break(rows)
    assert entry_id == 4 and reason.startswith("downgraded")


def test_the_old_unkeyed_part_still_verifies_and_is_sealed_by_the_first_keyed_entry():
    rows = make_chain(6, unkeyed=3)
    assert [r["hash_version"] for r in rows] == [1, 1, 1, 2, 2, 2]
    assert first_break(rows) == (None, "")
    assert first_break(rows[:3], key=WRONG_KEY) == (None, "")  # v1: no key involved
    # Rewriting an unkeyed entry and recomputing the unkeyed hashes after it: the first
    # keyed entry covers the last unkeyed hash, and its HMAC cannot be recomputed.
    rows[1]["summary"] = '{"n":1,"status":"forged"}'
    rehash(rows[1], rows[0]["hash"], version=audit.UNKEYED, key=None)
    rehash(rows[2], rows[1]["hash"], version=audit.UNKEYED, key=None)
    rows[3]["prev_hash"] = rows[2]["hash"]
    assert first_break(rows) == (4, audit.HASH_MISMATCH)


def test_an_unkeyed_entry_after_a_keyed_one_is_refused_even_when_well_chained():
    rows = make_chain(4, unkeyed=1)
    extra = dict(rows[-1], id=5)
    rehash(extra, rows[-1]["hash"], version=audit.UNKEYED, key=None)
    entry_id, reason = first_break([*rows, extra])
    assert entry_id == 5 and "downgraded" in reason


def test_an_unknown_hash_version_is_refused():
    rows = make_chain(2)
    rows[1]["hash_version"] = 3
    assert first_break(rows) == (2, "unknown hash version 3")
    with pytest.raises(ValueError):
        rehash(dict(rows[1]), rows[0]["hash"], version=0, key=KEY)


def test_keyed_hashes_need_a_key():
    with pytest.raises(audit.AuditKeyMissing):
        make_chain(1, key=b"")
    with pytest.raises(audit.AuditKeyMissing):
        first_break(make_chain(2), key=None)


def test_the_process_key_must_be_long_enough():
    with pytest.raises(ValueError):
        audit.use_key(b"short")
    with pytest.raises(ValueError):
        audit.use_key("a text, not bytes, of 32 characters or more")  # type: ignore[arg-type]


def test_a_removed_entry_breaks_the_next_link():
    rows = make_chain(5)
    del rows[2]
    entry_id, reason = first_break(rows)
    assert entry_id == 4
    assert "link broken" in reason


def test_a_removed_first_entry_is_seen():
    assert first_break(make_chain(3)[1:])[0] == 2


def test_pointing_an_entry_at_someone_else_is_seen():
    rows = make_chain(3)
    rows[1]["actor"] = 999
    assert first_break(rows) == (2, "actor changed (does not match the actor recorded)")


def test_a_deleted_account_nulls_the_actor_and_the_chain_holds():
    rows = make_chain(3)
    rows[1]["actor"] = None
    assert first_break(rows) == (None, "")


def test_a_changed_label_or_ip_is_seen():
    rows = make_chain(3)
    rows[1]["actor_label"] = "someone.else@example.fr"
    assert "digest mismatch" in first_break(rows)[1]
    rows = make_chain(3)
    rows[1]["ip"] = "198.51.100.1"
    assert "digest mismatch" in first_break(rows)[1]


def test_pseudonymised_entries_hold_but_a_label_without_salt_does_not():
    rows = make_chain(3)
    rows[1].update(actor=None, actor_label=audit.PSEUDONYMISED_LABEL, ip=None, actor_salt=None)
    assert first_break(rows) == (None, "")
    rows[1]["actor_label"] = "forged@example.fr"
    assert first_break(rows)[0] == 2


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "passwordHash",
        "resetToken",
        "token_hash",
        "api_secret",
        "totp",
        "totp_uri",
        "otp",
        "iban",
        "IBAN",
        "code",
        "recovery_codes",
        "verification-code",
        "apiKey",
        "private_key",
    ],
)
def test_secret_looking_keys_are_refused(key):
    assert audit.looks_secret(key)
    with pytest.raises(ValueError, match="secret-looking"):
        audit.summary_json({key: "x"})


@pytest.mark.parametrize(
    "key", ["role", "status", "amount_cents", "postcode", "email", "value", "kept", "roles", "from"]
)
def test_ordinary_keys_pass(key):
    assert not audit.looks_secret(key)
    audit.summary_json({key: "x"})


def test_secret_keys_are_refused_at_any_depth():
    with pytest.raises(ValueError):
        audit.summary_json({"bank": {"details": [{"iban": "x"}]}})


@pytest.mark.parametrize(
    "text",
    [
        "FR7630006000011234567890189",
        "FR76 3000 6000 0112 3456 7890 189",
        "paid to fr7630006000011234567890189 today",
        "DE89 3704 0044 0532 0130 00 (main account)",
    ],
)
def test_full_ibans_are_refused(text):
    assert audit.contains_iban(text)
    with pytest.raises(ValueError, match="IBAN"):
        audit.summary_json({"note": text})


@pytest.mark.parametrize(
    "text", ["FR76 **** **** **** **** **** 189", "FR7630006000011234567890188", "CALL2026-0042"]
)
def test_masked_or_invalid_ibans_pass(text):
    assert not audit.contains_iban(text)


def test_a_sha256_digest_is_not_taken_for_an_iban():
    # sha256(b"103982") holds a run that passes an IBAN's checks; a document's
    # fingerprint in a summary (the agreements record theirs) must not be refused.
    digest = hashlib.sha256(b"103982").hexdigest()
    assert audit.contains_iban(digest.upper())  # the same characters, not a digest
    assert not audit.contains_iban(digest)
    audit.summary_json({"sha256": digest})
    # An IBAN beside a digest is still found.
    assert audit.contains_iban(f"{digest} FR7630006000011234567890189")


def test_summary_turns_dates_and_decimals_into_stored_strings():
    text = audit.summary_json({"at": T0, "amount": Decimal("12.50"), "tags": ("a", "b")})
    assert text == '{"amount":"12.50","at":"2026-11-26T12:00:00+00:00","tags":["a","b"]}'


def test_summary_must_be_short_plain_data():
    with pytest.raises(ValueError, match="too long"):
        audit.summary_json({"note": "x" * 5000})
    with pytest.raises(ValueError, match="plain data"):
        audit.summary_json({"what": object()})
    with pytest.raises(ValueError):
        audit.summary_json(["not", "a", "dict"])  # type: ignore[arg-type]
    assert audit.summary_json(None) == "{}"


def test_csv_rows_quote_and_neutralise_formulas():
    entry = {
        "id": 7,
        "created_at": T0,
        "actor_id": None,
        "actor_label": '=HYPERLINK("http://x")',
        "ip": None,
        "action": "calls.published",
        "object_type": "call",
        "object_id": "-1",
        "summary": {"title": 'Le numérique, "pour tous"'},
        "hash": "ab" * 32,
    }
    lines = list(audit.csv_rows([entry]))
    assert lines[0] == ",".join(audit.CSV_COLUMNS) + "\r\n"
    parsed = list(csv.reader(io.StringIO("".join(lines))))
    assert len(parsed) == 2
    row = dict(zip(audit.CSV_COLUMNS, parsed[1], strict=True))
    assert row["actor_label"].startswith("'=")
    assert row["object_id"] == "'-1"
    assert row["created_at"] == "2026-11-26T12:00:00+00:00"
    assert row["summary"] == '{"title":"Le numérique, \\"pour tous\\""}'
    assert row["ip"] == ""
