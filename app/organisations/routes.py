"""Organisation pages: create, view, edit, members, invitations, switching."""

from __future__ import annotations

from collections.abc import Awaitable
from urllib.parse import urlencode

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import PUBLIC, require_recent_authentication
from app.core.audit import Actor
from app.core.forms import FormState, require_email, safe_next
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.ratelimit import Limit, RateLimiter
from app.core.security import rotate_session
from app.core.web import act, flash, path_to, render
from app.organisations import joining, services
from app.organisations.services import OrganisationError
from app.organisations.tables import LegalForm, MemberRole
from app.organisations.validators import IdentifierError, clean_siret
from app.settings import Settings

LIST = "/structures"
CREATE = "/structures/nouvelle"
DETAIL = "/structures/{org_id:int}"
EDIT = "/structures/{org_id:int}/modifier"
INVITE = "/structures/{org_id:int}/membres/inviter"
REMOVE = "/structures/{org_id:int}/membres/{membership_id:int}/retirer"
ROLE = "/structures/{org_id:int}/membres/{membership_id:int}/role"
CANCEL_INVITATION = "/structures/{org_id:int}/invitations/{invitation_id:int}/annuler"
CHOOSE = "/structures/{org_id:int}/choisir"
JOIN = "/structures/invitation"
REQUEST_JOIN = "/structures/rejoindre"
ANSWER_JOIN = "/structures/{org_id:int}/demandes/{request_id:int}"

SESSION_ORG = "org"
# Invitation e-mails carry text the inviter chose: not a spam relay.
INVITATIONS_PER_PERSON = Limit("member_invitations", 20, 24 * 3600)
# A request to join e-mails the owners: a few a day per person, and a SIRET typed
# that is already registered tells its name and town (public in the SIRENE register
# anyway), so trying many SIRETs is bounded too.
JOIN_REQUESTS_PER_PERSON = Limit("join_requests", 5, 24 * 3600)
SIRETS_TAKEN_PER_PERSON = Limit("sirets_taken", 20, 24 * 3600)

LEGAL_FORMS = [
    (LegalForm.association.value, N_("Association (loi 1901)")),
    (LegalForm.association_rup.value, N_("Association recognised as of public utility")),
    (LegalForm.foundation.value, N_("Foundation")),
    (LegalForm.scic.value, N_("Cooperative society of collective interest (SCIC)")),
    (LegalForm.scop.value, N_("Worker cooperative (SCOP)")),
    (LegalForm.company.value, N_("Company")),
    (LegalForm.public_body.value, N_("Public body")),
    (LegalForm.other.value, N_("Other")),
]


def _legal_forms() -> list[tuple[str, str]]:
    return [("", _("Choose..."))] + [(value, _(label)) for value, label in LEGAL_FORMS]


async def _visible(request: Request, org_id: int) -> services.OrganisationView:
    view = await services.organisation_for(request.user, org_id)
    if view is None:
        raise NotFoundException()
    return view


def _form_from(data: dict[str, str]) -> tuple[FormState, dict]:
    cleaned, errors = services.clean_organisation(data)
    form = FormState(values={k: (data.get(k) or "").strip() for k in services.FIELDS})
    for error in errors.values():  # in the order of the form: the summary reads top down
        form.refuse(error)
    return form, cleaned


@get(LIST, name="organisations:list")
async def organisation_list(request: Request) -> Template:
    mine = await services.organisations_of(request.user.id)
    return render(
        request,
        "organisations/list.html",
        organisations=mine,
        join_requests=await joining.my_join_requests(request.user.id),
        current=request.session.get(SESSION_ORG),
    )


@get(CREATE, name="organisations:create")
async def create_page(request: Request, suivant: FromQuery[str | None] = None) -> Template:
    """``suivant``: where to go once it is created (the call the person applies to)."""
    return render(
        request,
        "organisations/form.html",
        form=FormState(),
        legal_forms=_legal_forms(),
        org=None,
        next=safe_next(suivant, ""),
    )


@post(CREATE, name="organisations:create-post")
async def create(
    request: Request,
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    limiter: NamedDependency[RateLimiter],
) -> Template | Redirect:
    form, cleaned = _form_from(data)
    registered = None
    if form.ok:
        try:
            org_id = await services.create_organisation(cleaned, actor=actor)
        except OrganisationError as exc:
            form.refuse(exc, field="siret")
            if exc.code == "siret_taken":
                await limiter.check(SIRETS_TAKEN_PER_PERSON, str(request.user.id))
                registered = await joining.registered_with_siret(cleaned["siret"], request.user.id)
    if not form.ok:
        return render(
            request,
            "organisations/form.html",
            status_code=422,
            form=form,
            legal_forms=_legal_forms(),
            org=None,
            next=safe_next(data.get("next"), ""),
            registered=registered,
        )
    _choose(request, org_id, cleaned["name"])
    flash(request, _("The organisation is created. You are its owner."))
    back = safe_next(data.get("next"), "") or path_to(DETAIL, org_id=org_id)
    return Redirect(back, status_code=303)


async def _members_context(org_id: int, *, owner: bool) -> dict:
    members = await services.members(org_id)
    return {
        "members": members,
        "sole_owner": services.sole_owner(members),
        "join_requests": await joining.join_requests(org_id) if owner else [],
    }


@get(DETAIL, name="organisations:detail")
async def detail(request: Request, org_id: FromPath[int]) -> Template:
    view = await _visible(request, org_id)
    return render(
        request,
        "organisations/detail.html",
        org=view,
        **await _members_context(org_id, owner=view.is_owner),
        invitations=await services.pending_invitations(org_id) if view.is_owner else [],
        invite_form=FormState(values={"role": MemberRole.member.value}),
        legal_form_label=dict(_legal_forms()).get(view.data["legal_form"], ""),
    )


@get(EDIT, name="organisations:edit")
async def edit_page(request: Request, org_id: FromPath[int]) -> Template:
    view = await _visible(request, org_id)
    if not view.is_owner:
        raise NotFoundException()
    values = {k: (view.data[k] or "") for k in services.FIELDS}
    return render(
        request,
        "organisations/form.html",
        form=FormState(values=values),
        legal_forms=_legal_forms(),
        org=view,
    )


@post(EDIT, guards=[require_recent_authentication], name="organisations:edit-post")
async def edit(
    request: Request,
    org_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    view = await _visible(request, org_id)
    if not view.is_owner:
        raise NotFoundException()
    form, cleaned = _form_from(data)
    if form.ok:
        try:
            await services.update_organisation(org_id, cleaned, actor=actor)
        except OrganisationError as exc:
            form.refuse(exc, field="siret")
    if not form.ok:
        return render(
            request,
            "organisations/form.html",
            status_code=422,
            form=form,
            legal_forms=_legal_forms(),
            org=view,
        )
    flash(request, _("The changes are saved."))
    return Redirect(path_to(DETAIL, org_id=org_id), status_code=303)


@post(INVITE, name="organisations:invite")
async def invite(
    request: Request,
    org_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    limiter: NamedDependency[RateLimiter],
) -> Template | Redirect:
    view = await _visible(request, org_id)
    if not view.is_owner:
        raise NotFoundException()
    form = FormState(values={"email": data.get("email", "").strip(), "role": data.get("role", "")})
    require_email(form, own=False)
    if form.values["role"] not in {r.value for r in MemberRole}:
        form.error("role", _("Choose an option from the list."))
    if form.ok:
        await limiter.check(INVITATIONS_PER_PERSON, str(request.user.id))
        try:
            await services.invite_member(
                org_id,
                email=form.values["email"],
                role=form.values["role"],
                base_url=settings.base_url,
                actor=actor,
            )
        except OrganisationError as exc:
            form.refuse(exc, field="email")
    if not form.ok:
        return render(
            request,
            "organisations/detail.html",
            status_code=422,
            org=view,
            **await _members_context(org_id, owner=view.is_owner),
            invitations=await services.pending_invitations(org_id),
            invite_form=form,
            legal_form_label=dict(_legal_forms()).get(view.data["legal_form"], ""),
        )
    flash(request, _("Invitation sent to %(email)s.") % {"email": form.values["email"]})
    return Redirect(path_to(DETAIL, org_id=org_id), status_code=303)


async def _change_members(request: Request, org_id: int, change: Awaitable[None]) -> Redirect:
    """Run a change of members (the organisation is visible to this person) and go back
    to its page, or to the list of one's organisations after leaving it."""
    back = await act(
        request, change, back=path_to(DETAIL, org_id=org_id), done=_("The members are updated.")
    )
    if not await services.is_member(org_id, request.user.id):
        request.session.pop(SESSION_ORG, None)
        return Redirect(LIST, status_code=303)
    return back


@post(REMOVE, name="organisations:remove-member")
async def remove_member(
    request: Request,
    org_id: FromPath[int],
    membership_id: FromPath[int],
    actor: NamedDependency[Actor],
) -> Redirect:
    await _visible(request, org_id)
    return await _change_members(
        request, org_id, services.remove_member(org_id, membership_id, actor=actor)
    )


@post(ROLE, name="organisations:member-role")
async def member_role(
    request: Request,
    org_id: FromPath[int],
    membership_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    role = data.get("role", "")
    if role not in {r.value for r in MemberRole}:
        raise NotFoundException()
    await _visible(request, org_id)
    return await _change_members(
        request, org_id, services.change_member_role(org_id, membership_id, role, actor=actor)
    )


@post(CANCEL_INVITATION, name="organisations:cancel-invitation")
async def cancel_invitation(
    request: Request,
    org_id: FromPath[int],
    invitation_id: FromPath[int],
    actor: NamedDependency[Actor],
) -> Redirect:
    await _visible(request, org_id)
    return await _change_members(
        request, org_id, services.cancel_invitation(org_id, invitation_id, actor=actor)
    )


@post(REQUEST_JOIN, name="organisations:request-join")
async def request_join(
    request: Request,
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
    limiter: NamedDependency[RateLimiter],
) -> Redirect:
    """« SIRET already registered »: ask its owners to let one in."""
    try:
        siret = clean_siret(data.get("siret", ""))
    except IdentifierError:
        raise NotFoundException() from None
    await limiter.check(JOIN_REQUESTS_PER_PERSON, str(request.user.id))
    try:
        found = await joining.request_to_join(siret, base_url=settings.base_url, actor=actor)
    except OrganisationError as exc:
        if exc.code == "not_found":
            raise NotFoundException() from None
        flash(request, exc.text(), "error")
    else:
        flash(
            request,
            _(
                "Your request to join %(name)s is sent to its owners. They will answer you by e-mail."
            )
            % {"name": found.name},
        )
    return Redirect(LIST, status_code=303)


@post(ANSWER_JOIN, name="organisations:answer-join")
async def answer_join(
    request: Request,
    org_id: FromPath[int],
    request_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Redirect:
    """An owner accepts or refuses a request to join."""
    decision = data.get("decision", "")
    if decision not in {"accept", "refuse"}:
        raise NotFoundException()
    await _visible(request, org_id)
    accept = decision == "accept"
    return await act(
        request,
        joining.answer_join_request(
            org_id, request_id, accept=accept, base_url=settings.base_url, actor=actor
        ),
        back=path_to(DETAIL, org_id=org_id),
        done=_("The person is now a member.") if accept else _("The request is refused."),
    )


def _choose(request: Request, org_id: int, name: str) -> None:
    # Acting for another organisation is a change of privilege: new session id.
    rotate_session(request)
    request.session[SESSION_ORG] = {"id": org_id, "name": name}


@post(CHOOSE, name="organisations:choose")
async def choose(request: Request, org_id: FromPath[int]) -> Redirect:
    view = await _visible(request, org_id)
    if view.my_role is None:
        raise NotFoundException()
    _choose(request, org_id, view.data["name"])
    flash(request, _("You are now acting for %(name)s.") % {"name": view.data["name"]})
    return Redirect(path_to(DETAIL, org_id=org_id), status_code=303)


@get(JOIN, opt=PUBLIC, name="organisations:join")
async def join_page(request: Request, jeton: FromQuery[str] = "") -> Template:
    try:
        invitation = await services.invitation_by_token(jeton)
    except OrganisationError as exc:
        return render(request, "accounts/token_problem.html", status_code=400, message=exc.text())
    here = f"{JOIN}?{urlencode({'jeton': jeton})}"
    sign_in = request.app.route_reverse("accounts:sign-in")
    sign_up = request.app.route_reverse("accounts:sign-up")
    return render(
        request,
        "organisations/join.html",
        invitation=invitation,
        token=jeton,
        sign_in_url=f"{sign_in}?{urlencode({'suivant': here})}",
        sign_up_url=f"{sign_up}?{urlencode({'suivant': here, 'email': invitation['email']})}",
    )


@post(JOIN, name="organisations:join-post")
async def join(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Template | Redirect:
    try:
        org_id = await services.accept_invitation(data.get("token", ""), request.user, actor=actor)
    except OrganisationError as exc:
        return render(request, "accounts/token_problem.html", status_code=400, message=exc.text())
    view = await _visible(request, org_id)
    _choose(request, org_id, view.data["name"])
    flash(request, _("Welcome to %(name)s!") % {"name": view.data["name"]})
    return Redirect(path_to(DETAIL, org_id=org_id), status_code=303)


router = Router(
    path="/",
    include_in_schema=False,
    route_handlers=[
        organisation_list,
        create_page,
        create,
        detail,
        edit_page,
        edit,
        invite,
        remove_member,
        member_role,
        cancel_invitation,
        choose,
        join_page,
        join,
        request_join,
        answer_join,
    ],
)

ROUTES = [router]
