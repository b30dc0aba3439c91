"""Checkpoints of the audit chain's head, without a database: the signed line, the
append-only file (whole lines, several writers), and holding a chain's walk to them."""

import json
import multiprocessing
from datetime import UTC, datetime

import pytest

from app.core import audit
from app.core.audit_checkpoints import (
    TAIL_BYTES,
    Head,
    append_line,
    compare,
    latest_checkpoint,
    make_line,
    parse_line,
    read_file,
)

KEY = b"k" * 32
AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
HEAD = Head(entries=12, last_id=14, last_hash="ab" * 32)


def forged(line: str, **changes) -> str:
    """The line with some fields changed, its MAC kept."""
    value = json.loads(line)
    value.update(changes)
    return audit.canonical_json(value)


def test_a_line_records_the_head_and_reads_back():
    line = make_line(HEAD, AT, KEY)
    assert "\n" not in line
    checkpoint = parse_line(line, KEY)
    assert checkpoint.head == HEAD
    assert checkpoint.at == AT and checkpoint.line == line


@pytest.mark.parametrize(
    "changes", [{"entries": 13}, {"last_id": 20}, {"last_hash": "cd" * 32}, {"at": "2027-01-01"}]
)
def test_a_changed_line_is_not_genuine(changes):
    with pytest.raises(ValueError, match="not genuine"):
        parse_line(forged(make_line(HEAD, AT, KEY), **changes), KEY)


def test_a_line_signed_with_another_key_is_not_genuine():
    with pytest.raises(ValueError, match="not genuine"):
        parse_line(make_line(HEAD, AT, b"w" * 32), KEY)


@pytest.mark.parametrize("text", ["{", "[1, 2]", '{"entries": 3}', '"text"'])
def test_a_damaged_line_is_said_so(text):
    with pytest.raises(ValueError, match="damaged"):
        parse_line(text, KEY)


def test_the_file_sorts_genuine_lines_from_bad_ones(tmp_path):
    path = tmp_path / "audit" / "checkpoints.jsonl"
    assert read_file(path, KEY).exists is False
    first = make_line(HEAD, AT, KEY)
    append_line(path, first)
    append_line(path, forged(first, entries=99))
    second = make_line(Head(13, 15, "ef" * 32), AT, KEY)
    append_line(path, second)
    found = read_file(path, KEY)
    assert [c.line for c in found.checkpoints] == [first, second]
    assert [(b.number, b.reason.split(" ")[0]) for b in found.bad_lines] == [(2, "not")]
    assert latest_checkpoint(path, KEY).line == second
    append_line(path, forged(second, last_id=99))  # a forged newest line is passed over
    assert latest_checkpoint(path, KEY).line == second
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_line_cut_by_a_crash_does_not_swallow_the_next_one(tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    whole = make_line(HEAD, AT, KEY)
    path.write_text(whole + "\n" + whole[:40])  # no final newline: cut mid-line
    append_line(path, whole)
    found = read_file(path, KEY)
    assert len(found.checkpoints) == 2
    assert [b.number for b in found.bad_lines] == [2]


def test_the_latest_is_found_from_the_end_of_a_long_file(tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    path.write_text(
        "".join(
            make_line(Head(n + 1, n + 1, f"{n:064x}"), AT, KEY) + "\n"
            for n in range(TAIL_BYTES // 150 + 50)
        )
    )
    assert path.stat().st_size > TAIL_BYTES
    assert latest_checkpoint(path, KEY).entries == TAIL_BYTES // 150 + 50
    with path.open("a") as fh:  # then more than the tail's worth of rubbish
        fh.write(("x" * 99 + "\n") * (TAIL_BYTES // 100 + 10))
    assert latest_checkpoint(path, KEY).entries == TAIL_BYTES // 150 + 50
    assert latest_checkpoint(tmp_path / "none.jsonl", KEY) is None


def _append_many(path: str, writer: int, count: int) -> None:
    from pathlib import Path

    for n in range(count):
        # Long lines, so that a write split in two would show.
        head = Head(writer * 1000 + n, n, f"{writer:02x}" * 32)
        append_line(Path(path), make_line(head, AT, KEY) + " " * 6000)


def test_concurrent_appends_stay_whole_lines(tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    context = multiprocessing.get_context("fork")  # Linux, as the server
    workers = [context.Process(target=_append_many, args=(str(path), w, 60)) for w in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    lines = path.read_text().split("\n")
    assert lines[-1] == ""
    assert len(lines) - 1 == 6 * 60
    parsed = [parse_line(line.rstrip(" "), KEY) for line in lines[:-1]]
    assert sorted(c.entries for c in parsed) == sorted(
        w * 1000 + n for w in range(6) for n in range(60)
    )


def walk(last_id: int, checked: int, *watched: tuple[int, int, str]) -> audit.VerifyResult:
    return audit.VerifyResult(
        ok=True, checked=checked, last_id=last_id, last_hash="00" * 32, watched=watched
    )


def checkpoint(entries: int, last_id: int, last_hash: str = "ab" * 32):
    return parse_line(make_line(Head(entries, last_id, last_hash), AT, KEY), KEY)


def test_a_chain_that_still_holds_the_checkpointed_entry_agrees():
    assert compare(checkpoint(12, 14), walk(20, 18, (14, 12, "ab" * 32))) == ""
    assert compare(checkpoint(0, 0, audit.GENESIS_HASH), walk(0, 0)) == ""


def test_removing_the_newest_entries_is_seen():
    reason = compare(checkpoint(12, 14), walk(11, 9))
    assert reason.startswith("entries removed")
    assert "#14" in reason and "#11 with 9 entries" in reason


def test_removing_the_checkpointed_entry_then_writing_more_is_seen():
    reason = compare(checkpoint(12, 14), walk(30, 25))  # 14 not among the ids walked
    assert "entry #14" in reason and "missing" in reason


def test_a_rewritten_and_rehashed_chain_is_seen():
    reason = compare(checkpoint(12, 14), walk(20, 18, (14, 12, "cd" * 32)))
    assert "is not the one" in reason and "rewritten" in reason


def test_a_different_count_up_to_the_checkpoint_is_seen():
    reason = compare(checkpoint(12, 14), walk(20, 17, (14, 11, "ab" * 32)))
    assert "counted 12 entries" in reason and "now has 11" in reason


@pytest.mark.parametrize(("entries", "words"), [(1, "1 entrée, portant"), (7, "7 entrées, la")])
def test_the_emailed_head_reads_in_french_with_the_signed_line(entries, words):
    from app.core import mail

    line = make_line(Head(entries, 9, "ab" * 32), AT, KEY)
    context = {"at": AT, "entries": entries, "last_id": 9, "line": line}
    email = mail.render_email("audit_checkpoint", "fr", context)
    assert email.subject == "Journal d’audit de Guichet : point de contrôle à conserver"
    assert "Le jeudi 3 décembre 2026 à 10:00, le journal" in email.text
    assert words in email.text and "numéro 9" in email.text
    assert line in email.text
    assert line.replace('"', "&#34;") in email.html  # escaped, whole
