"""The read models decide what a page may offer from the state tables: the buttons of
an instalment, a report or a recovery, and the reduction a final report calls for."""

from datetime import UTC, datetime

from app.grants.followup import Reduction, payment_defaults
from app.grants.models import InstalmentRecord, RecoveryRecord, ReportRecord

AT = datetime(2017, 7, 3, tzinfo=UTC)


def instalment(status: str, amount: int = 100, paid: int = 0, n: int = 1) -> InstalmentRecord:
    return InstalmentRecord(
        id=n,
        grant=1,
        position=n,
        amount_cents=amount,
        trigger="acceptance",
        due_on=None,
        status=status,
        note="",
        approved_at=None,
        cancelled_at=None,
        paid_cents=paid,
    )


def report(status: str, message: str = "") -> ReportRecord:
    return ReportRecord(
        id=1,
        grant=1,
        kind="final",
        status=status,
        narrative="",
        actuals={},
        submitted_at=None,
        reviewed_at=None,
        message=message,
    )


def test_what_staff_may_do_with_an_instalment():
    expected = {
        "scheduled": ({"cancel", "cancel_by_reduction"}, False, True),
        "due": ({"approve", "cancel", "cancel_by_reduction"}, False, True),
        "approved": ({"pay", "cancel", "cancel_by_reduction"}, True, False),
        "paid": ({"reverse_payment"}, False, False),
        "cancelled": (set(), False, False),
    }
    for status, (actions, payable, amendable) in expected.items():
        part = instalment(status)
        assert (part.actions, part.payable, part.amendable) == (actions, payable, amendable)


def test_the_payment_form_starts_with_what_is_left_of_the_first_approved_instalment():
    parts = [instalment("paid", n=1), instalment("approved", 6_000_000, 1_000_000, n=2)]
    values = payment_defaults(parts, "2017-07-03")
    assert values["instalment"] == "2" and values["value_date"] == "2017-07-03"
    assert values["amount"].replace("\u202f", " ").replace("\xa0", " ") == "50 000,00"
    assert payment_defaults([instalment("due")], "2017-07-03") == {"value_date": "2017-07-03"}


def test_a_report_sent_back_shows_its_message_until_it_is_submitted_again():
    assert report("returned", "Joindre les factures").sent_back_message == "Joindre les factures"
    assert report("submitted", "Joindre les factures").sent_back_message == ""
    assert report("returned").editable and report("draft").editable
    assert not report("submitted").editable and not report("approved").editable
    assert report("submitted").actions == {"approve", "send_back"}
    assert report("returned").actions == {"submit"}


def test_only_an_open_recovery_can_be_received():
    def recovery(status):
        return RecoveryRecord(1, 1, 500, "Trop-perçu", status, AT, None)

    assert recovery("open").actions == {"receive", "receive_part"}
    assert recovery("received").actions == set()


def test_a_reduction_is_pending_while_spending_is_below_plan_and_not_applied():
    assert Reduction(200, 100, 90, 180, applied=False).pending
    assert not Reduction(200, 100, 90, 180, applied=True).pending
    assert not Reduction(200, 100, 100, 200, applied=False).pending
