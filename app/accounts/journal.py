"""The audit trail as a person reads it: each action in words (a label per action code,
translated), the object named (« subvention IDF-2017-0001 — Le PoleS »), the details
with their amounts formatted; the same lines for the page and the CSV export.

The trail's entries name objects of every domain by type and number; this reader
names them with one query per type on a page (a constant number whatever the
number of entries). Accounts come first in the domains' order, so those tables are
read by their names, not imported: the reader knows their names, never their rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.accounts.tables import User
from app.core import audit
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.money import format_amount

# What each audited action means. A test collects every code the app writes and
# checks it has its label here.
ACTION_LABELS = {
    "accounts.user_created": N_("Account created"),
    "accounts.signed_up": N_("Signed up"),
    "accounts.sign_up_existing": N_("Sign-up with an address already used"),
    "accounts.email_confirmed": N_("Email address confirmed"),
    "accounts.signed_in": N_("Signed in"),
    "accounts.signed_out": N_("Signed out"),
    "accounts.sign_in_failed": N_("Failed sign-in"),
    "accounts.second_factor_failed": N_("Wrong two-step code"),
    "accounts.recovery_code_used": N_("Recovery code used"),
    "accounts.password_reset_requested": N_("Password reset asked"),
    "accounts.password_reset": N_("Password reset"),
    "accounts.password_changed": N_("Password changed"),
    "accounts.profile_updated": N_("Details changed"),
    "accounts.staff_invited": N_("Staff member invited"),
    "accounts.invitation_accepted": N_("Invitation accepted"),
    "accounts.role_granted": N_("Role given"),
    "accounts.role_revoked": N_("Role removed"),
    "accounts.enabled": N_("Account enabled"),
    "accounts.disabled": N_("Account disabled"),
    "accounts.totp_enabled": N_("Two-step verification on"),
    "accounts.totp_disabled": N_("Two-step verification off"),
    "accounts.setting_changed": N_("Setting changed"),
    "api.token_created": N_("API token created"),
    "api.token_revoked": N_("API token revoked"),
    "audit.actor_pseudonymised": N_("Person erased from the trail"),
    "organisations.created": N_("Organisation created"),
    "organisations.updated": N_("Organisation changed"),
    "organisations.member_invited": N_("Member invited"),
    "organisations.member_joined": N_("Member joined"),
    "organisations.member_removed": N_("Member removed"),
    "organisations.member_role_changed": N_("Member's role changed"),
    "organisations.join_requested": N_("Asked to join"),
    "organisations.join_accepted": N_("Request to join accepted"),
    "organisations.join_refused": N_("Request to join refused"),
    "organisations.join_withdrawn": N_("Request to join withdrawn"),
    "funders.updated": N_("Funder changed"),
    "funders.legal_updated": N_("Funder's legal notices changed"),
    "funders.logo_set": N_("Funder's logo set"),
    "funders.logo_removed": N_("Funder's logo removed"),
    "funders.signature_set": N_("Signature image set"),
    "funders.signature_removed": N_("Signature image removed"),
    "calls.created": N_("Call created"),
    "calls.settings_changed": N_("Call settings changed"),
    "calls.eligibility_changed": N_("Eligibility changed"),
    "calls.documents_changed": N_("Documents to provide changed"),
    "calls.rubric_changed": N_("Scoring rubric changed"),
    "calls.form_changed": N_("Form changed"),
    "calls.published": N_("Call published"),
    "calls.closed": N_("Call closed"),
    "calls.archived": N_("Call archived"),
    "calls.duplicated": N_("Call duplicated"),
    "applications.started": N_("Application started"),
    "applications.document_added": N_("Document attached"),
    "applications.submitted": N_("Application submitted"),
    "applications.withdrawn": N_("Application withdrawn"),
    "applications.sent_back": N_("Sent back « to complete »"),
    "applications.eligible": N_("Found eligible"),
    "applications.ineligible": N_("Found ineligible"),
    "applications.message_posted": N_("Message posted"),
    "applications.reviews_complete": N_("All reviews in"),
    "applications.reviews_reopened": N_("Reviews awaited again"),
    "reviews.settings_changed": N_("Review settings changed"),
    "reviews.pool_added": N_("Reviewer added to the pool"),
    "reviews.assigned": N_("Reviewer assigned"),
    "reviews.auto_assigned": N_("Reviewers assigned automatically"),
    "reviews.unassigned": N_("Reviewer taken off"),
    "reviews.unassigned_for_conflict": N_("Reviewer taken off (conflict of interest)"),
    "reviews.conflict_recorded": N_("Conflict of interest declared"),
    "reviews.declined": N_("Review declined"),
    "reviews.reminded": N_("Reviewer reminded"),
    "reviews.saved": N_("Review saved"),
    "reviews.submitted": N_("Review submitted"),
    "reviews.reopened": N_("Review reopened"),
    "decisions.settings_saved": N_("Committee settings saved"),
    "decisions.templates_saved": N_("Letter templates saved"),
    "decisions.decided": N_("Decision recorded"),
    "decisions.decided_many": N_("Decisions recorded for several files"),
    "decisions.cleared": N_("Decision cleared"),
    "decisions.schedule_set": N_("Payment schedule set"),
    "decisions.published": N_("Decisions published"),
    "decisions.published_award": N_("Grant award published"),
    "decisions.published_reject": N_("Rejection published"),
    "decisions.published_waitlist": N_("Waiting list published"),
    "decisions.letter_written": N_("Decision letter written"),
    "grants.created": N_("Grant created"),
    "grants.accepted": N_("Grant accepted online"),
    "grants.agreement_uploaded": N_("Signed agreement received"),
    "grants.agreement_template_saved": N_("Agreement articles saved"),
    "grants.agreement_generated": N_("Agreement generated"),
    "grants.agreement_code_sent": N_("Signing code sent"),
    "grants.agreement_signed": N_("Agreement signed by the organisation"),
    "grants.agreement_countersigned": N_("Agreement countersigned"),
    "grants.agreement_accepted": N_("Uploaded agreement accepted"),
    "grants.agreement_refused": N_("Uploaded agreement refused"),
    "grants.amendment_generated": N_("Amendment (avenant) generated"),
    "grants.deadlines_set": N_("Report deadlines set"),
    "grants.instalment_due": N_("Instalment due"),
    "grants.instalment_approve": N_("Instalment approved for payment"),
    "grants.instalment_cancel": N_("Instalment cancelled"),
    "grants.schedule_amended": N_("Schedule amended (avenant)"),
    "grants.payment_recorded": N_("Payment recorded"),
    "grants.payment_reversed": N_("Payment cancelled by a reversal"),
    "grants.recovery_opened": N_("Recovery opened"),
    "grants.recovery_received": N_("Recovery received"),
    "grants.recovery_notice": N_("Recovery notice sent"),
    "grants.report_submitted": N_("Report submitted"),
    "grants.report_attachment_added": N_("Report document attached"),
    "grants.report_approved": N_("Report approved"),
    "grants.report_returned": N_("Report sent back"),
    "grants.reduced": N_("Grant reduced"),
    "grants.reduction_notice": N_("Reduction notice sent"),
    "grants.bank_details_revealed": N_("Bank details shown in full"),
    "grants.batch_created": N_("Payment batch made"),
    "grants.batch_exported": N_("Payment batch exported"),
    "grants.batch_paid": N_("Payment batch marked paid"),
}

OBJECT_LABELS = {
    "user": N_("person"),
    "organisation": N_("organisation"),
    "funder": N_("funder"),
    "call": N_("call"),
    "application": N_("application"),
    "grant": N_("grant"),
    "payment_batch": N_("payment batch"),
    "setting": N_("setting"),
}

# The details' keys most entries use, in words; others show as written.
DETAIL_LABELS = {
    "amount_cents": N_("amount"),
    "reduction_cents": N_("reduction"),
    "recovery_cents": N_("to repay"),
    "instalment": N_("instalment"),
    "reference": N_("reference"),
    "reason": N_("reason"),
    "kind": N_("kind"),
    "lines": N_("instalments"),
    "left_cents": N_("left to pay back"),
    "paid": N_("payments recorded"),
    "skipped": N_("lines skipped"),
    "organisation": N_("organisation no."),
    "account": N_("account"),
    "role": N_("role"),
    "email": N_("email"),
    "title": N_("title"),
    "status": N_("status"),
    "name": N_("name"),
    "document": N_("document"),
    "sha256": N_("SHA-256 fingerprint"),
    "storage_id": N_("stored file"),
    "capacity": N_("capacity"),
    "signatory": N_("signatory"),
    "parts": N_("instalments"),
    "notice": N_("notice no."),
    "interim": N_("interim report"),
    "final": N_("final report"),
    "roles": N_("roles"),
    "call": N_("call no."),
    "siret": N_("SIRET"),
    "declarant": N_("declared by"),
    "agreement": N_("agreement no."),
    "outcome": N_("decision"),
    "version": N_("version"),
    "added": N_("added"),
    "reviewer": N_("reviewer no."),
    "count": N_("number"),
    "funder": N_("funder no."),
    "fields": N_("questions"),
    "source": N_("copied from call no."),
    "changed": N_("changed"),
    "deliberation": N_("deliberation"),
    "schedule": N_("schedule"),
    "awards": N_("awards"),
    "rejections": N_("rejections"),
    "waitlisted": N_("waiting list"),
    "awarded_cents": N_("amount awarded"),
    "method": N_("method"),
    "signer": N_("signed by"),
    "document_sha256": N_("SHA-256 of the document"),
    "signed_sha256": N_("SHA-256 of the signed file"),
    "from_staff": N_("from the staff"),
    "scores": N_("marks"),
    "wanted": N_("reviews per file"),
}

# Codes stored as the values of these keys, in words (others show as written).
CODED_KEYS = {"outcome", "method", "role", "roles", "kind"}
CODE_LABELS = {
    "award": N_("award granted"),
    "reject": N_("rejection"),
    "waitlist": N_("waiting list"),
    "email_code": N_("code sent by e-mail"),
    "totp": N_("authenticator app"),
    "online": N_("signed online"),
    "upload": N_("scanned copy"),
    "reviewer": N_("reviewer"),
    "officer": N_("officer"),
    "finance": N_("finance"),
    "admin": N_("administrator"),
    "interim": N_("interim report"),
    "final": N_("final report"),
    "reduction": N_("reduction"),
    "recovery": N_("recovery of funds"),
    "amendment": N_("amendment (avenant)"),
}

# Each object type with a name: the query naming the given ids (one query a type).
_NAMES = {
    "user": "SELECT id, full_name AS name, email AS detail FROM guichet_user WHERE id IN ({ids})",
    "organisation": "SELECT id, name, '' AS detail FROM organisation WHERE id IN ({ids})",
    "funder": "SELECT id, name, '' AS detail FROM funder WHERE id IN ({ids})",
    "call": "SELECT id, title AS name, '' AS detail FROM \"call\" WHERE id IN ({ids})",
    "application": (
        "SELECT a.id, a.reference AS name, o.name AS detail FROM application a "
        "JOIN organisation o ON o.id = a.organisation WHERE a.id IN ({ids})"
    ),
    "grant": (
        'SELECT g.id, a.reference AS name, o.name AS detail FROM "grant" g '
        "JOIN application a ON a.id = g.application "
        "JOIN organisation o ON o.id = g.organisation WHERE g.id IN ({ids})"
    ),
}


_BY_REFERENCE = {
    "application": "SELECT id FROM application WHERE reference = {}",
    "grant": 'SELECT g.id FROM "grant" g JOIN application a ON a.id = g.application '
    "WHERE a.reference = {}",
}


async def object_by_reference(kind: str, reference: str) -> int | None:
    """The file (``application``) or grant of a file's reference, to filter by."""
    rows = await User.raw(_BY_REFERENCE[kind], reference.strip().upper()[:30])
    return rows[0]["id"] if rows else None


def action_label(code: str) -> str:
    """The action in words, in the page's language (the code itself if unknown)."""
    return _(ACTION_LABELS[code]) if code in ACTION_LABELS else code


def action_choices() -> list[tuple[str, str]]:
    """The actions to filter by, in words, sorted as read."""
    return sorted(((code, _(label)) for code, label in ACTION_LABELS.items()), key=lambda c: c[1])


def _code(value: Any) -> str:
    return _(CODE_LABELS[value]) if isinstance(value, str) and value in CODE_LABELS else str(value)


def _detail_value(key: str, value: Any) -> str:
    if key in CODED_KEYS:
        return (
            ", ".join(_code(v) for v in value) if isinstance(value, list | tuple) else _code(value)
        )
    if key.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
        return format_amount(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def details(summary: dict) -> list[tuple[str, str]]:
    """An entry's details as (label, value), amounts formatted."""
    return [
        (
            _(DETAIL_LABELS[key]) if key in DETAIL_LABELS else key.replace("_", " "),
            _detail_value(key, value),
        )
        for key, value in summary.items()
        if value is not None and value != "" and value != [] and value != {}
    ]


@dataclass(frozen=True, slots=True)
class JournalLine:
    """An entry of the trail as shown."""

    id: int
    created_at: datetime
    actor_id: int | None
    actor_label: str
    ip: str | None
    action: str
    action_label: str
    object_type: str
    object_id: str
    object_name: str
    details: tuple[tuple[str, str], ...]
    hash: str

    @property
    def details_text(self) -> str:
        return " ; ".join(f"{label} : {value}" for label, value in self.details)


async def _names(entries: Iterable[dict]) -> dict[tuple[str, str], str]:
    wanted: dict[str, set[int]] = {}
    for e in entries:
        if e["object_type"] in _NAMES and str(e["object_id"] or "").isdigit():
            wanted.setdefault(e["object_type"], set()).add(int(e["object_id"]))
    names: dict[tuple[str, str], str] = {}
    for kind, ids in wanted.items():
        marks = ", ".join("{}" for _id in ids)
        rows = await User.raw(_NAMES[kind].format(ids=marks), *sorted(ids))
        for row in rows:
            name = row["name"] or "#" + str(row["id"])
            names[(kind, str(row["id"]))] = f"{name} — {row['detail']}" if row["detail"] else name
    return names


def _object_name(entry: dict, names: dict[tuple[str, str], str]) -> str:
    kind, number = entry["object_type"], str(entry["object_id"] or "")
    if not kind:
        return ""
    label = _(OBJECT_LABELS[kind]) if kind in OBJECT_LABELS else kind
    named = names.get((kind, number))
    if named:
        return f"{label} {named}"
    return f"{label} {_('no. %(n)s') % {'n': number}}" if number else label


async def readable(entries: list[dict]) -> list[JournalLine]:
    """Entries as ``audit.search`` returns them, in words (one query per object type)."""
    names = await _names(entries)
    return [
        JournalLine(
            id=e["id"],
            created_at=e["created_at"],
            actor_id=e["actor_id"],
            actor_label=e["actor_label"] or "",
            ip=e["ip"],
            action=e["action"],
            action_label=action_label(e["action"]),
            object_type=e["object_type"] or "",
            object_id=str(e["object_id"] or ""),
            object_name=_object_name(e, names),
            details=tuple(details(e["summary"] or {})),
            hash=e["hash"],
        )
        for e in entries
    ]


def export_header() -> list[str]:
    return [
        _("Entry no."), _("When (Paris)"), _("Who"), _("IP"), _("Action"), _("Action (code)"),
        _("Object"), _("Object type"), _("Object number"), _("Details"), _("Fingerprint"),
    ]  # fmt: skip


async def export_rows(filters: dict[str, Any], batch_size: int = 500) -> AsyncIterator[list]:
    """The trail's matching entries, oldest first, as the export's rows (named a
    batch of entries at a time)."""
    batch: list[dict] = []

    async def flush() -> list[list]:
        lines = await readable(batch)
        batch.clear()
        return [
            [
                line.id, line.created_at, line.actor_label or (line.actor_id or ""), line.ip,
                line.action_label, line.action, line.object_name, line.object_type,
                line.object_id, line.details_text, line.hash,
            ]
            for line in lines
        ]  # fmt: skip

    async for entry in audit.iter_entries(**filters):
        batch.append(entry)
        if len(batch) >= batch_size:
            for row in await flush():
                yield row
    for row in await flush():
        yield row
