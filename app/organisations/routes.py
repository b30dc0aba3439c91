"""Organisation pages: create, view, edit, members, invitations, switching."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.accounts.guards import PUBLIC, require_recent_authentication
from app.accounts.routes import actor, base_url, limiter, require_email
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.ratelimit import Limit
from app.core.security import rotate_session
from app.core.web import flash, render
from app.organisations import services
from app.organisations.services import OrganisationError
from app.organisations.tables import LegalForm, MemberRole

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

SESSION_ORG = "org"
# Invitation e-mails carry text the inviter chose: not a spam relay.
INVITATIONS_PER_PERSON = Limit("member_invitations", 20, 24 * 3600)

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

FIELD_ERRORS = {
    "required": N_("This field is required."),
    "too_long": N_("This is too long."),
    "choice": N_("Choose an option from the list."),
    "email": N_("Enter an email address like nom@exemple.fr."),
    "postcode": N_("Enter a French postcode of 5 digits."),
    "phone": N_("Enter a phone number, e.g. 01 23 45 67 89."),
    "siret_empty": N_("Enter the SIRET number."),
    "siret_digits": N_("The SIRET number contains only digits."),
    "siret_length": N_("The SIRET number must have 14 digits."),
    "siret_checksum": N_("Invalid check key: check the SIRET number on your INSEE notice."),
    "siret_taken": N_(
        "An organisation with this SIRET number is already registered: ask its members to invite you."
    ),
    "rna_required": N_("Enter the RNA number of the association (W followed by 9 characters)."),
    "rna_prefix": N_("The RNA number starts with W."),
    "rna_length": N_("The RNA number has W followed by 9 characters."),
    "rna_format": N_("The RNA number has W followed by 9 letters or digits."),
    "iban_empty": N_("Enter the IBAN."),
    "iban_length": N_("The IBAN does not have the length used in its country."),
    "iban_checksum": N_("Invalid check key: check the IBAN on your bank details (RIB)."),
    "iban_format": N_(
        "The IBAN starts with a country code (FR...) followed by digits and letters."
    ),
    "bic_length": N_("The BIC has 8 or 11 characters."),
    "bic_format": N_("The BIC is not valid: check it on your bank details (RIB)."),
}

ERRORS = {
    "not_owner": N_("Only the owners of the organisation can do this."),
    "already_member": N_("This person is already a member."),
    "last_owner": N_(
        "The organisation must keep at least one owner: make someone else an owner first."
    ),
    "not_found": N_("This member does not exist."),
    "token_invalid": N_("This invitation is not valid. Ask for a new one."),
    "token_used": N_("This invitation has already been used."),
    "token_expired": N_("This invitation has expired. Ask for a new one."),
    "wrong_account": N_(
        "This invitation was sent to another email address: sign in with that address."
    ),
}


def _legal_forms() -> list[tuple[str, str]]:
    return [("", _("Choose..."))] + [(value, _(label)) for value, label in LEGAL_FORMS]


async def _visible(request: Request, org_id: int) -> services.OrganisationView:
    view = await services.organisation_for(request.user, org_id)
    if view is None:
        raise NotFoundException()
    return view


# « This field is required » said with the field's name, for the error summary.
REQUIRED = {
    "name": N_("Enter the name of the organisation."),
    "legal_form": N_("Choose the legal form."),
    "street": N_("Enter the street and number."),
    "postcode": N_("Enter the postcode."),
    "city": N_("Enter the town."),
    "legal_rep_name": N_("Enter the name of the legal representative."),
    "legal_rep_title": N_("Enter the capacity of the legal representative."),
    "contact_email": N_("Enter the contact email."),
    "phone": N_("Enter the phone number."),
    "bic": N_("Enter the BIC."),
}


def _form_from(data: dict[str, str]) -> tuple[FormState, dict]:
    cleaned, codes = services.clean_organisation(data)
    form = FormState(values={k: (data.get(k) or "").strip() for k in services.FIELDS})
    # In the order of the form, so the summary reads top to bottom.
    for name in services.FIELDS:
        code = codes.get(name)
        if code == "required" and name in REQUIRED:
            form.error(name, _(REQUIRED[name]))
        elif code:
            form.error(name, _(FIELD_ERRORS.get(code, FIELD_ERRORS["required"])))
    return form, cleaned


@get(LIST, include_in_schema=False, name="organisations:list")
async def organisation_list(request: Request) -> Template:
    mine = await services.organisations_of(request.user.id)
    return render(
        request,
        "organisations/list.html",
        organisations=mine,
        current=request.session.get(SESSION_ORG),
    )


@get(CREATE, include_in_schema=False, name="organisations:create")
async def create_page(request: Request) -> Template:
    return render(
        request, "organisations/form.html", form=FormState(), legal_forms=_legal_forms(), org=None
    )


@post(CREATE, include_in_schema=False, name="organisations:create-post")
async def create(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template | Redirect:
    form, cleaned = _form_from(data)
    if form.ok:
        try:
            org_id = await services.create_organisation(cleaned, actor=actor(request))
        except OrganisationError as exc:
            form.error("siret", _(FIELD_ERRORS[exc.code]))
    if not form.ok:
        return render(
            request,
            "organisations/form.html",
            status_code=422,
            form=form,
            legal_forms=_legal_forms(),
            org=None,
        )
    _choose(request, org_id, cleaned["name"])
    flash(request, _("The organisation is created. You are its owner."))
    return Redirect(DETAIL.replace("{org_id:int}", str(org_id)), status_code=303)


@get(DETAIL, include_in_schema=False, name="organisations:detail")
async def detail(request: Request, org_id: FromPath[int]) -> Template:
    view = await _visible(request, org_id)
    return render(
        request,
        "organisations/detail.html",
        org=view,
        members=await services.members(org_id),
        invitations=await services.pending_invitations(org_id) if view.is_owner else [],
        invite_form=FormState(values={"role": MemberRole.member.value}),
        legal_form_label=dict(_legal_forms()).get(view.data["legal_form"], ""),
    )


@get(EDIT, include_in_schema=False, name="organisations:edit")
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


@post(
    EDIT,
    guards=[require_recent_authentication],
    include_in_schema=False,
    name="organisations:edit-post",
)
async def edit(
    request: Request, org_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    view = await _visible(request, org_id)
    if not view.is_owner:
        raise NotFoundException()
    form, cleaned = _form_from(data)
    if form.ok:
        try:
            await services.update_organisation(org_id, cleaned, actor=actor(request))
        except OrganisationError as exc:
            form.error("siret", _(FIELD_ERRORS.get(exc.code) or ERRORS[exc.code]))
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
    return Redirect(DETAIL.replace("{org_id:int}", str(org_id)), status_code=303)


@post(INVITE, include_in_schema=False, name="organisations:invite")
async def invite(
    request: Request, org_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    view = await _visible(request, org_id)
    if not view.is_owner:
        raise NotFoundException()
    form = FormState(values={"email": data.get("email", "").strip(), "role": data.get("role", "")})
    require_email(form, own=False)
    if form.values["role"] not in {r.value for r in MemberRole}:
        form.error("role", _("Choose an option from the list."))
    if form.ok:
        await limiter(request).check(INVITATIONS_PER_PERSON, str(request.user.id))
        try:
            await services.invite_member(
                org_id,
                email=form.values["email"],
                role=form.values["role"],
                base_url=base_url(request),
                actor=actor(request),
            )
        except OrganisationError as exc:
            form.error("email", _(ERRORS[exc.code]))
    if not form.ok:
        return render(
            request,
            "organisations/detail.html",
            status_code=422,
            org=view,
            members=await services.members(org_id),
            invitations=await services.pending_invitations(org_id),
            invite_form=form,
            legal_form_label=dict(_legal_forms()).get(view.data["legal_form"], ""),
        )
    flash(request, _("Invitation sent to %(email)s.") % {"email": form.values["email"]})
    return Redirect(DETAIL.replace("{org_id:int}", str(org_id)), status_code=303)


async def _member_action(request: Request, org_id: int, action) -> Redirect:
    await _visible(request, org_id)
    try:
        await action()
    except OrganisationError as exc:
        flash(request, _(ERRORS[exc.code]), "error")
    else:
        flash(request, _("The members are updated."))
    if not await services.is_member(org_id, request.user.id):
        request.session.pop(SESSION_ORG, None)
        return Redirect(LIST, status_code=303)
    return Redirect(DETAIL.replace("{org_id:int}", str(org_id)), status_code=303)


@post(REMOVE, include_in_schema=False, name="organisations:remove-member")
async def remove_member(
    request: Request, org_id: FromPath[int], membership_id: FromPath[int]
) -> Redirect:
    return await _member_action(
        request, org_id, lambda: services.remove_member(org_id, membership_id, actor=actor(request))
    )


@post(ROLE, include_in_schema=False, name="organisations:member-role")
async def member_role(
    request: Request,
    org_id: FromPath[int],
    membership_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Redirect:
    role = data.get("role", "")
    if role not in {r.value for r in MemberRole}:
        raise NotFoundException()
    return await _member_action(
        request,
        org_id,
        lambda: services.change_member_role(org_id, membership_id, role, actor=actor(request)),
    )


@post(CANCEL_INVITATION, include_in_schema=False, name="organisations:cancel-invitation")
async def cancel_invitation(
    request: Request, org_id: FromPath[int], invitation_id: FromPath[int]
) -> Redirect:
    return await _member_action(
        request,
        org_id,
        lambda: services.cancel_invitation(org_id, invitation_id, actor=actor(request)),
    )


def _choose(request: Request, org_id: int, name: str) -> None:
    # Acting for another organisation is a change of privilege: new session id.
    rotate_session(request)
    request.session[SESSION_ORG] = {"id": org_id, "name": name}


@post(CHOOSE, include_in_schema=False, name="organisations:choose")
async def choose(request: Request, org_id: FromPath[int]) -> Redirect:
    view = await _visible(request, org_id)
    if view.my_role is None:
        raise NotFoundException()
    _choose(request, org_id, view.data["name"])
    flash(request, _("You are now acting for %(name)s.") % {"name": view.data["name"]})
    return Redirect(DETAIL.replace("{org_id:int}", str(org_id)), status_code=303)


@get(JOIN, opt=PUBLIC, include_in_schema=False, name="organisations:join")
async def join_page(request: Request, jeton: FromQuery[str] = "") -> Template:
    try:
        invitation = await services.invitation_by_token(jeton)
    except OrganisationError as exc:
        return render(
            request, "accounts/token_problem.html", status_code=400, message=_(ERRORS[exc.code])
        )
    here = f"{JOIN}?{urlencode({'jeton': jeton})}"
    return render(
        request,
        "organisations/join.html",
        invitation=invitation,
        token=jeton,
        sign_in_url=f"/connexion?{urlencode({'suivant': here})}",
        sign_up_url=f"/inscription?{urlencode({'suivant': here, 'email': invitation['email']})}",
    )


@post(JOIN, include_in_schema=False, name="organisations:join-post")
async def join(request: Request, data: URLEncodedBody[dict[str, str]]) -> Template | Redirect:
    try:
        org_id = await services.accept_invitation(
            data.get("token", ""), request.user, actor=actor(request)
        )
    except OrganisationError as exc:
        return render(
            request, "accounts/token_problem.html", status_code=400, message=_(ERRORS[exc.code])
        )
    view = await _visible(request, org_id)
    _choose(request, org_id, view.data["name"])
    flash(request, _("Welcome to %(name)s!") % {"name": view.data["name"]})
    return Redirect(DETAIL.replace("{org_id:int}", str(org_id)), status_code=303)


ROUTES = [
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
]
