"""Admin pages: people, invitations, roles, disabling, settings."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import File, Redirect, Stream, Template

from app.accounts import journal as trail
from app.accounts import services
from app.accounts.credentials import AccountError
from app.accounts.guards import require_recent_authentication, requires
from app.accounts.tables import StaffRole
from app.core import audit
from app.core.audit import Actor
from app.core.audit_checkpoints import latest_checkpoint
from app.core.exports import table_response
from app.core.forms import FormState, require_email
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.numbers import whole_number
from app.core.time import start_of_paris_day
from app.core.web import act, flash, path_to, render
from app.permissions import can_administer
from app.settings import Settings

USERS = "/admin/utilisateurs"
INVITE = "/admin/utilisateurs/inviter"
USER = "/admin/utilisateurs/{user_id:int}"
USER_ROLES = "/admin/utilisateurs/{user_id:int}/roles"
USER_STATUS = "/admin/utilisateurs/{user_id:int}/statut"
SETTINGS = "/admin/reglages"

PAGE_SIZE = 50
# The router's guard (administer) comes first; changes also need the password typed
# in the last minutes.
SENSITIVE = [require_recent_authentication]

ROLE_LABELS = {
    StaffRole.reviewer.value: N_("reviewer"),
    StaffRole.officer.value: N_("officer"),
    StaffRole.finance.value: N_("finance"),
    StaffRole.admin.value: N_("administrator"),
}


def role_options() -> list[tuple[str, str]]:
    return [(value, _(label)) for value, label in ROLE_LABELS.items()]


@get(USERS, name="admin:users")
async def users(
    request: Request,
    role: FromQuery[str] = "",
    q: FromQuery[str] = "",
    invitation: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    role = role if role in ROLE_LABELS else ""
    page = max(page, 1)
    invited = invitation == "1"
    rows, total = await services.list_users(
        role=role or None,
        q=q.strip()[:100],
        invited=invited,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "admin/users.html",
        users=rows,
        total=total,
        role=role,
        q=q,
        invited=invited,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        roles=role_options(),
        role_labels=ROLE_LABELS,
        funders=await _funder_names(),
    )


@get(INVITE, name="admin:invite")
async def invite_page(request: Request) -> Template:
    return render(
        request,
        "admin/invite.html",
        form=FormState(values={"language": "fr", "funder": ""}),
        roles=role_options(),
        chosen=[],
        funder_options=await _funder_options(),
    )


async def _funder_options() -> list[tuple[str, str]]:
    return [(str(i), name) for i, name in (await _funder_names()).items()]


@post(INVITE, guards=SENSITIVE, name="admin:invite-post")
async def invite(
    request: Request, actor: NamedDependency[Actor], settings: NamedDependency[Settings]
) -> Template | Redirect:
    data = await request.form()
    chosen = [r for r in data.getall("roles", []) if r in ROLE_LABELS]
    form = FormState(
        values={
            k: (data.get(k) or "").strip() for k in ("email", "full_name", "language", "funder")
        }
    )
    require_email(form, own=False)
    if not form.values["full_name"]:
        form.error("full_name", _("Enter the first and last name."))
    elif len(form.values["full_name"]) > 200:
        form.error("full_name", _("Enter at most 200 characters."))
    if form.values["language"] not in ("fr", "en"):
        form.error("language", _("Choose a language from the list."))
    # Roles per funder: the roles may be given for one funder of the list.
    funder_id = whole_number(form.values["funder"]) if form.values["funder"] else None
    if form.values["funder"] and funder_id not in await _funder_names():
        form.error("funder", _("Choose a funder from the list."))
    try:
        services.check_roles(chosen, funder_id=funder_id)
    except AccountError as exc:
        form.refuse(exc)
    if form.ok:
        try:
            user_id = await services.invite_staff(
                email=form.values["email"],
                full_name=form.values["full_name"],
                roles=chosen,
                language=form.values["language"],
                base_url=settings.base_url,
                actor=actor,
                funder_id=funder_id,
            )
        except AccountError as exc:
            form.refuse(exc, field="email")
        else:
            flash(request, _("Invitation sent to %(email)s.") % {"email": form.values["email"]})
            return Redirect(path_to(USER, user_id=user_id), status_code=303)
    return render(
        request,
        "admin/invite.html",
        status_code=422,
        form=form,
        roles=role_options(),
        chosen=chosen,
        funder_options=await _funder_options(),
    )


@get(USER, name="admin:user")
async def user_detail(request: Request, user_id: FromPath[int]) -> Template:
    person = await services.get_user(user_id)
    if person is None:
        raise NotFoundException()
    return render(
        request,
        "admin/user.html",
        person=person,
        roles=role_options(),
        role_labels=ROLE_LABELS,
        funders=await _funder_names(),
    )


async def _funder_names() -> dict[int, str]:
    from app.funders.services import list_funders  # funders come after accounts

    return {f["id"]: f["name"] for f in await list_funders()}


@post(USER_ROLES, guards=SENSITIVE, name="admin:user-roles")
async def user_roles(
    request: Request,
    user_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    role = data.get("role", "")
    action = data.get("action")
    back = path_to(USER, user_id=user_id)
    if action == "revoke_grant":
        # One grant: a role for every funder, or for one funder.
        grant_id = whole_number(data.get("grant", ""))
        if grant_id is None:
            raise NotFoundException()
        await _existing(user_id)
        change = services.revoke_role_grant(user_id, grant_id, actor=actor)
    elif role not in ROLE_LABELS or action not in ("grant", "revoke"):
        raise NotFoundException()
    else:
        await _existing(user_id)
        if action == "revoke":
            change = services.revoke_role(user_id, role, actor=actor)
        else:
            # « Every funder » (empty) or one funder of the list: another id is refused.
            raw = (data.get("funder") or "").strip()
            funder_id = whole_number(raw) if raw else None
            if raw and funder_id not in await _funder_names():
                flash(request, _("Choose a funder from the list."), "error")
                return Redirect(back, status_code=303)
            change = services.grant_role(user_id, role, actor=actor, funder_id=funder_id)
    return await act(
        request,
        change,
        back=back,
        done=_("The roles are updated. The person's open sessions have been closed."),
    )


@post(USER_STATUS, guards=SENSITIVE, name="admin:user-status")
async def user_status(
    request: Request,
    user_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    active = data.get("active") == "yes"
    await _existing(user_id)
    return await act(
        request,
        services.set_active(user_id, active, actor=actor),
        back=path_to(USER, user_id=user_id),
        done=_("The account is enabled.")
        if active
        else _("The account is disabled and its sessions are closed."),
    )


async def _existing(user_id: int) -> None:
    """An action on nobody is « not found », not a message on a page that is not there."""
    try:
        await services.require_user(user_id)
    except AccountError:
        raise NotFoundException() from None


@get(SETTINGS, name="admin:settings")
async def settings_page(request: Request, settings: NamedDependency[Settings]) -> Template:
    mandatory = await services.get_setting(services.SETTING_MANDATORY_TOTP, False)
    return render(
        request,
        "admin/settings.html",
        mandatory_totp=bool(mandatory),
        staff_mfa_required=settings.staff_mfa_required,
    )


@post(SETTINGS, guards=SENSITIVE, name="admin:settings-post")
async def save_settings(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Redirect:
    await services.set_setting(
        services.SETTING_MANDATORY_TOTP, data.get("mandatory_totp") == "yes", actor=actor
    )
    flash(request, _("The settings are saved."))
    return Redirect(SETTINGS, status_code=303)


people = Router(
    path="/",
    guards=[requires("administer")],
    include_in_schema=False,
    route_handlers=[
        users,
        invite_page,
        invite,
        user_detail,
        user_roles,
        user_status,
        settings_page,
        save_settings,
    ],
)


# --- Audit trail (officers and admins) -------------------------------------------------------

JOURNAL = "/journal"
JOURNAL_EXPORT = "/journal/export.csv"


def _paris_day(value: str, *, end: bool = False) -> datetime | None:
    """The UTC instant a Paris day starts (or the next one starts, for ``end``)."""
    try:
        return start_of_paris_day(date.fromisoformat(value) + timedelta(days=1 if end else 0))
    except (ValueError, OverflowError):  # not a date; the ends of the calendar
        return None


async def _journal_filters(values: dict[str, str]) -> tuple[dict, FormState]:
    form = FormState(
        values={
            k: (values.get(k) or "").strip()[:254]
            for k in ("object_type", "object_id", "acteur", "action", "du", "au")
        }
    )
    filters: dict = {}
    if form.values["action"]:
        if form.values["action"] in trail.ACTION_LABELS:
            filters["action"] = form.values["action"]
        else:
            form.error("action", _("Choose an action from the list."))
    if form.values["object_type"]:
        filters["object_type"] = form.values["object_type"]
    if form.values["object_id"]:
        filters["object_id"] = form.values["object_id"]
        if not form.values["object_id"].isdigit():
            # A file's reference (« IDF-2017-0001 »): the file, or its grant.
            kind = "grant" if form.values["object_type"] == "grant" else "application"
            found = await trail.object_by_reference(kind, form.values["object_id"])
            if found is None:
                form.error("object_id", _("No file has this reference."))
            else:
                filters.update(object_type=kind, object_id=found)
    if form.values["acteur"]:
        actor_id = await services.user_id_by_email(form.values["acteur"])
        if actor_id is None:
            actor_id = whole_number(form.values["acteur"])
        if actor_id is None:
            form.error("acteur", _("No account has this email address."))
        else:
            filters["actor_id"] = actor_id
    for name, key, end in (("du", "since", False), ("au", "until", True)):
        if form.values[name]:
            instant = _paris_day(form.values[name], end=end)
            if instant is None:
                form.error(name, _("Enter a date like 2026-11-26."))
            else:
                filters[key] = instant
    return filters, form


@get(JOURNAL, name="audit:journal")
async def journal(
    request: Request, settings: NamedDependency[Settings], page: FromQuery[int] = 1
) -> Template:
    filters, form = await _journal_filters(dict(request.query_params))
    page = max(page, 1)
    entries, total = ([], 0)
    if form.ok:
        entries, total = await audit.search(
            **filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    query = urlencode({k: v for k, v in form.values.items() if v})
    # Administrators see whether the trail's head is kept outside the database too.
    checkpoint = None
    if can_administer(request.user):
        checkpoint = await asyncio.to_thread(
            latest_checkpoint, settings.audit_checkpoints_path, settings.audit_key
        )
    return render(
        request,
        "admin/journal.html",
        status_code=200 if form.ok else 422,
        form=form,
        entries=await trail.readable(entries),
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        query=query,
        action_choices=trail.action_choices(),
        object_choices=[(key, _(label)) for key, label in trail.OBJECT_LABELS.items()],
        checkpoint=checkpoint,
    )


@get(JOURNAL_EXPORT, name="audit:journal-export")
async def journal_export(request: Request, settings: NamedDependency[Settings]) -> Stream | File:
    """The filtered trail as a CSV file for a spreadsheet (in words, with the codes and
    each entry's fingerprint), oldest first."""
    filters, form = await _journal_filters(dict(request.query_params))
    if not form.ok:
        filters = {"object_id": "\x00none"}  # a wrong filter exports nothing, never everything
    return await table_response(
        "csv",
        settings.data_dir / "tmp",
        "guichet-journal",
        trail.export_header(),
        trail.export_rows(filters),
    )


journal_pages = Router(
    path="/",
    guards=[requires("read_audit")],
    include_in_schema=False,
    route_handlers=[journal, journal_export],
)

ROUTES = [people, journal_pages]
