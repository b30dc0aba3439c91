"""The hostile corpus (tests/hostile.py) through every form of the older domains —
accounts, admin, organisations, calls, applications, reviews — and through every query
parameter of the pages: never a 500, never executed, shown inertly where it is shown;
numbers, amounts, dates, identifiers and choices refused with a French message next to
the field, what was typed kept, nothing written; the same text in receipts and letters
comes out as text; nothing of it reaches a response or e-mail header.

(The newer forms — decisions, reports, payments, API tokens — are in
test_hostile_inputs.py.)"""

from __future__ import annotations

import inspect
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from urllib.parse import quote, urlsplit

import pytest
from markupsafe import escape

from app.accounts.services import Actor
from app.accounts.tables import User
from app.applications.tables import Application, Attachment
from app.calls import formspec
from app.calls import services as calls
from app.calls.tables import Call
from app.core.tables import AuditEntry, OutboxMessage
from app.organisations.tables import MemberInvitation, Organisation
from app.reviews.tables import Assignment, Conflict, PoolMember
from tests.factories import (
    DECLARATION,
    MINIMAL_PDF,
    PASSWORD,
    csrf_token,
    letter_of,
    make_application,
    make_call,
    make_organisation,
    make_user,
    post_form,
    publish_award,
    run,
    sign_in,
    write_letters,
)
from tests.hostile import CORPUS, EVIDENCE, ODD_VALUES, never_markup, params, pdf_text

_seq = itertools.count(1)


# --- The world the forms act on ---------------------------------------------------------------


def _rich_call(client, officer: dict) -> dict:
    """A published call with one field of every kind, an eligibility question and a
    criterion: {id, keys (field type -> key), question, criterion, document}."""
    actor = Actor(user_id=officer["id"])
    call_id = make_call(client, officer)

    def every_kind(form: dict) -> dict:
        section = form["sections"][0]["key"]
        for kind in (k for k in formspec.FIELD_TYPES if k not in ("long_text", "file")):
            spec = {"type": kind, "label": f"Champ {kind}", "choices": "un\ndeux"}
            form = formspec.add_field(form, section, formspec.clean_field(spec, form))
        return form

    run(client, calls.change_form, call_id, every_kind, actor=actor)
    run(
        client,
        calls.add_eligibility_question,
        call_id,
        {"label": "Êtes-vous une association ?", "blocking": "no", "explanation": "Non."},
        actor=actor,
    )
    run(
        client,
        calls.add_criterion,
        call_id,
        {"title": "Qualité", "weight": "1", "scale": "20"},
        actor=actor,
    )
    run(client, calls.transition, call_id, "publish", actor=actor)
    call = run(client, calls.get_call, call_id)
    return {
        "id": call_id,
        "keys": {f["type"]: f["key"] for f in formspec.fields_of(call["form"])},
        "question": call["eligibility"][0]["key"],
        "criterion": call["rubric"][0]["key"],
        "document": call["documents"][0]["key"],
        "funder": call["funder"],
    }


@pytest.fixture(scope="module")
def world(client):
    roles = {
        "applicant": [],
        "officer": ["officer"],
        "admin": ["admin"],
        "reviewer": ["reviewer"],
        "reviewer2": ["reviewer"],
    }
    people = {name: make_user(client, roles=r) for name, r in roles.items()}
    org = make_organisation(client, people["applicant"])
    edited_org = make_organisation(client, people["applicant"])
    draft_call = make_call(client, people["officer"])
    rich = _rich_call(client, people["officer"])
    app = make_application(client, people["applicant"], org, rich["id"])
    # A file under review by « reviewer », in a pool with « reviewer2 ».
    reviewed = make_application(
        client, people["applicant"], make_organisation(client, people["applicant"]), rich["id"]
    )
    _set_status(client, reviewed, "in_review")
    assignment = _assign(client, reviewed, people["reviewer"])
    for person in (people["reviewer"], people["reviewer2"]):
        run(
            client,
            lambda person=person: PoolMember.insert(
                PoolMember(call=rich["id"], reviewer=person["id"])
            ).run(),
        )
    w = {
        "people": people,
        "ids": {
            "org": org,
            "edited_org": edited_org,
            "draft": draft_call,
            "open": rich["id"],
            "app": app,
            "reviewed": reviewed,
            "assignment": assignment,
            "question": rich["question"],
            "criterion": rich["criterion"],
            "document": rich["document"],
            "funder": rich["funder"],
            "victim": make_user(client)["id"],
            "reviewer2": people["reviewer2"]["id"],
            **{f"key_{kind}": key for kind, key in rich["keys"].items()},
        },
        "sessions": {},
    }
    client.app.state.rate_limiter._counts.clear()
    for name, person in people.items():
        client.cookies.clear()
        sign_in(client, person)
        w["sessions"][name] = dict(client.cookies.items())
    client.cookies.clear()
    return w


def _set_status(client, app_id: int, status: str) -> None:
    run(
        client,
        lambda: (
            Application.update(
                {
                    Application.status: status,
                    Application.reference: f"HOS-{app_id:05d}",
                    Application.title: f"Projet {app_id}",
                    Application.submitted_at: datetime.now(UTC),
                }
            )
            .where(Application.id == app_id)
            .run()
        ),
    )


def _assign(client, app_id: int, reviewer: dict) -> int:
    return run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=app_id, reviewer=reviewer["id"]))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]


def _fresh_file(client, w, status: str) -> int:
    """A file of a new organisation of the applicant, in ``status``, on the rich call."""
    owner = w["people"]["applicant"]
    app_id = make_application(client, owner, make_organisation(client, owner), w["ids"]["open"])
    _set_status(client, app_id, status)
    return app_id


class As:
    """Requests as one of the world's people (or anonymous), keeping their session
    cookie up to date (it changes when the session id rotates)."""

    def __init__(self, client, w, role: str):
        self.client, self.w, self.role = client, w, role
        client.app.state.rate_limiter._counts.clear()
        self.use()

    def use(self) -> None:
        """Put this person's cookies in the client (another person may have used it)."""
        self.client.cookies.clear()
        for name, value in self.w["sessions"].get(self.role, {}).items():
            self.client.cookies.set(name, value, domain="testserver.local", path="/")

    def keep(self) -> None:
        """Remember the cookies the last response left (a rotated session id)."""
        if self.role != "anonymous":
            self.w["sessions"][self.role] = dict(self.client.cookies.items())

    def get(self, path: str, **kwargs):
        self.use()
        response = self.client.get(path, follow_redirects=False, **kwargs)
        self.keep()
        return response

    def post(self, path: str, data: dict, **kwargs):
        self.use()
        response = self.client.post(
            path,
            data={**data, "_csrf_token": csrf_token(self.client)},
            follow_redirects=False,
            **kwargs,
        )
        self.keep()
        return response


# --- Checks -----------------------------------------------------------------------------------


def _french_messages() -> tuple[set[str], list[re.Pattern]]:
    from babel.messages.pofile import read_po

    from app.settings import LOCALES_DIR

    with open(LOCALES_DIR / "fr" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    plain, patterns = set(), []
    for message in catalog:
        if not message.id or not message.string:
            continue
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            if "%(" in text:
                pattern = re.escape(text)
                pattern = re.sub(r"%\\\(\w+\\\)[sd]", ".+", pattern)
                patterns.append(re.compile(pattern, re.S))
            else:
                plain.add(text)
    return plain, patterns


FRENCH, FRENCH_PATTERNS = _french_messages()


def field_error(page: str, name: str) -> str:
    """The error message shown next to the field ``name`` (empty: none)."""
    name = re.escape(name)
    for pattern in (
        rf'<p class="field__error" id="[\w-]*?-{name}-error">(.*?)</p>',
        rf'<span class="field__error" id="[\w-]*?-{name}-error">(.*?)</span>',
        rf'<fieldset [^>]*id="[\w-]*?-{name}">\s*<legend[^>]*>.*?</legend>\s*'
        r'<p class="field__error">(.*?)</p>',
    ):
        match = re.search(pattern, page, re.S)
        if match:
            text = re.sub(r"<span[^>]*>.*?</span>", "", match.group(1), flags=re.S)
            return " ".join(text.split())
    return ""


def assert_french(message: str) -> None:
    unescaped = message.replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
    assert unescaped in FRENCH or any(p.fullmatch(unescaped) for p in FRENCH_PATTERNS), (
        f"not a French message of the catalogue: {message!r}"
    )


def typed(text: str) -> str:
    """What a field shows again of a typed text (NUL removed, ends trimmed)."""
    return text.replace("\x00", "").strip()


def no_5xx(response, what: str = "") -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:500])


def shown(page: str, name: str) -> None:
    """The corpus entry ``name`` is on the page, as text."""
    never_markup(page)
    assert EVIDENCE[name] in page, (name, page[:3000])


# --- The forms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """A form as its page sends it: valid values, to which one field gets a payload.

    ``path`` and the values are formatted with the world's ids (and those that
    ``setup`` returns, for forms that need a fresh object each time); ``shown`` lists
    (role, path) of pages that show what was saved — « {next} » is where the form sent
    the person; ``count`` counts the rows a refused form must not add, ``snapshot``
    reads the row it must not change."""

    role: str
    path: str
    values: Callable[..., dict]
    shown: tuple[tuple[str, str], ...] = ()
    setup: Callable | None = None
    count: Callable | None = None
    snapshot: Callable | None = None
    before: str | None = None  # a page to open first (it puts a secret in the session)


def _n() -> int:
    return next(_seq)


def _siret() -> str:
    from stdnum import luhn

    siren8 = f"{60000000 + _n():08d}"
    siren = siren8 + luhn.calc_check_digit(siren8)
    base = siren + "0001"
    return base + luhn.calc_check_digit(base)


def _organisation_values(ids: dict) -> dict:
    return {
        "name": f"Association hostile {_n()}",
        "legal_form": "association",
        "siret": _siret(),
        "rna": f"W92{_n():07d}",
        "street": "1 rue de la Paix",
        "postcode": "75002",
        "city": "Paris",
        "legal_rep_name": "Présidence Test",
        "legal_rep_title": "Président·e",
        "contact_email": "contact@asso.test",
        "phone": "01 00 00 00 00",
        "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPP",
        "description": "",
    }


def _call_values(ids: dict) -> dict:
    return {
        "funder": str(ids["funder"]),
        "title": f"Appel hostile {_n()}",
        "reference_prefix": "HOS-2026",
        "summary": "Résumé.",
        "body": "Texte.",
        "envelope": "1 000 000",
        "min_award": "10 000",
        "max_award": "200 000",
        "max_rate": "80",
        "opens_at": "2026-01-01T09:00",
        "closes_at": "2099-12-31T12:00",
        "silence_months": "2",
    }


def _draft_values(client, ids: dict) -> dict:
    row = run(
        client,
        lambda: (
            Application.select(Application.version)
            .where(Application.id == ids["app"])
            .first()
            .run()
        ),
    )
    return {"version": str(row["version"]), "title": "Projet", "requested": "10 000"}


def _count(table) -> Callable:
    return lambda client: run(client, lambda: table.count().run())


def _row(table, key: str, *columns) -> Callable:
    def snapshot(client, ids):
        return run(
            client,
            lambda: table.select(*columns).where(table.id == ids[key]).first().run(),
        )

    return snapshot


def _later() -> str:
    return (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")


def _fixed(values: dict) -> Callable:
    return lambda client, ids: dict(values)


_DRAFT_ROW = _row(Application, "app", Application.title, Application.answers, Application.budget)
# An autosave keeps what is valid of what was typed (nothing typed is lost) and refuses
# the rest: the answers, where a hostile answer would land, must stay as they were.
_DRAFT_ANSWERS = _row(Application, "app", Application.answers)

FORMS: dict[str, Form] = {
    # Accounts
    "sign_up": Form(
        "anonymous",
        "/inscription",
        lambda client, ids: {
            "full_name": "Camille Test",
            "email": f"inscrit{_n()}@test.guichet.test",
            "password": PASSWORD,
            "accept_terms": "yes",
        },
        count=_count(User),
    ),
    "sign_in": Form(
        "anonymous",
        "/connexion",
        _fixed({"email": "nobody@test.guichet.test", "password": "wrong password!"}),
    ),
    "forgot_password": Form(
        "anonymous", "/mot-de-passe-oublie", _fixed({"email": "nobody@test.guichet.test"})
    ),
    "resend_confirmation": Form(
        "anonymous", "/compte/confirmer/renvoyer", _fixed({"email": "nobody@test.guichet.test"})
    ),
    "confirm_email": Form("anonymous", "/compte/confirmer", _fixed({"token": "x"})),
    "new_password": Form(
        "anonymous",
        "/mot-de-passe/nouveau",
        _fixed({"token": "x", "password": PASSWORD, "password_again": PASSWORD}),
    ),
    "staff_invitation": Form(
        "anonymous",
        "/invitation",
        _fixed({"token": "x", "password": PASSWORD, "password_again": PASSWORD}),
    ),
    "second_factor": Form("anonymous", "/connexion/verification", _fixed({"code": "123456"})),
    "profile": Form(
        "applicant",
        "/compte",
        _fixed({"full_name": "Camille Test", "language": "fr"}),
        shown=(("applicant", "/compte"),),
    ),
    "change_password": Form(
        "applicant",
        "/compte/mot-de-passe",
        _fixed(
            {
                "current_password": "not the password",
                "new_password": "a new password here",
                "new_password_again": "another one",
            }
        ),
    ),
    "reauth": Form(
        "applicant", "/connexion/confirmer", _fixed({"password": "not the password", "next": "/"})
    ),
    "erase": Form("applicant", "/compte/supprimer", _fixed({"confirm": "yes", "password": "no"})),
    "totp_enable": Form(
        "applicant",
        "/compte/securite/activer",
        _fixed({"code": "000000"}),
        before="/compte/securite",
    ),
    "totp_disable": Form("applicant", "/compte/securite/desactiver", _fixed({"password": "no"})),
    # Admin
    "admin_invite": Form(
        "admin",
        "/admin/utilisateurs/inviter",
        lambda client, ids: {
            "email": f"agent{_n()}@test.guichet.test",
            "full_name": "Agent Test",
            "language": "fr",
            "roles": "reviewer",
        },
        shown=(("admin", "{next}"), ("admin", "/admin/utilisateurs")),
        count=_count(User),
    ),
    "admin_roles": Form(
        "admin",
        "/admin/utilisateurs/{victim}/roles",
        _fixed({"role": "reviewer", "action": "grant"}),
    ),
    "admin_status": Form("admin", "/admin/utilisateurs/{victim}/statut", _fixed({"active": "yes"})),
    "admin_settings": Form("admin", "/admin/reglages", _fixed({"mandatory_totp": ""})),
    "funder": Form(
        "admin",
        "/admin/financeurs/{funder}",
        lambda client, ids: {
            "name": f"Région hostile {_n()}",
            "address": "1 place\n75001 Paris",
            "website": "",
        },
        shown=(("admin", "{next}"), ("anonymous", "/financeurs")),
    ),
    # Organisations
    "organisation_create": Form(
        "applicant",
        "/structures/nouvelle",
        lambda client, ids: _organisation_values(ids),
        shown=(("applicant", "{next}"), ("applicant", "/structures")),
        count=_count(Organisation),
    ),
    "organisation_edit": Form(
        "applicant",
        "/structures/{edited_org}/modifier",
        lambda client, ids: _organisation_values(ids),
        shown=(("applicant", "{next}"),),
        snapshot=_row(Organisation, "edited_org", Organisation.siret, Organisation.iban),
    ),
    "member_invite": Form(
        "applicant",
        "/structures/{org}/membres/inviter",
        lambda client, ids: {"email": f"membre{_n()}@asso.test", "role": "member"},
        count=_count(MemberInvitation),
    ),
    "member_role": Form(
        "applicant", "/structures/{org}/membres/0/role", _fixed({"role": "member"})
    ),
    "join": Form("applicant", "/structures/invitation", _fixed({"token": "x"})),
    # Calls
    "call_create": Form(
        "officer",
        "/instruction/appels/nouveau",
        lambda client, ids: _call_values(ids),
        shown=(("officer", "{next}"),),
        count=_count(Call),
    ),
    "call_edit": Form(
        "officer",
        "/instruction/appels/{open}",
        lambda client, ids: _call_values(ids),
        shown=(("officer", "{next}"), ("anonymous", "/appels/{open}")),
    ),
    "call_transition": Form(
        "officer", "/instruction/appels/{draft}/etat", _fixed({"action": "publish"})
    ),
    "eligibility": Form(
        "officer",
        "/instruction/appels/{draft}/eligibilite",
        _fixed({"label": "Question ?", "blocking": "yes", "explanation": "Parce que."}),
        shown=(("officer", "/instruction/appels/{draft}"),),
        snapshot=_row(Call, "draft", Call.eligibility),
    ),
    "document": Form(
        "officer",
        "/instruction/appels/{draft}/documents",
        _fixed({"label": "Budget", "required": "yes", "kinds": "pdf", "max_mb": "5"}),
        shown=(("officer", "/instruction/appels/{draft}"),),
        snapshot=_row(Call, "draft", Call.documents),
    ),
    "criterion": Form(
        "officer",
        "/instruction/appels/{draft}/grille",
        _fixed({"title": "Impact", "guidance": "", "weight": "2", "scale": "5"}),
        shown=(("officer", "/instruction/appels/{draft}"),),
        snapshot=_row(Call, "draft", Call.rubric),
    ),
    "section": Form(
        "officer",
        "/instruction/appels/{draft}/formulaire/sections",
        _fixed({"title": "Section"}),
        shown=(("officer", "/instruction/appels/{draft}/formulaire"),),
    ),
    "form_field": Form(
        "officer",
        "/instruction/appels/{draft}/formulaire/champs",
        lambda client, ids: {
            "type": "single_choice",
            "label": "Champ",
            "help": "",
            "choices": "oui\nnon",
            "max_length": "",
            "condition": "",
            "section": _first_section(client, ids["draft"]),
        },
        shown=(("officer", "/instruction/appels/{draft}/formulaire"),),
        snapshot=_row(Call, "draft", Call.form),
    ),
    "form_field_long": Form(
        "officer",
        "/instruction/appels/{draft}/formulaire/champs",
        lambda client, ids: {
            "type": "long_text",
            "label": "Champ long",
            "max_length": "100",
            "section": _first_section(client, ids["draft"]),
        },
        snapshot=_row(Call, "draft", Call.form),
    ),
    "field_move": Form(
        "officer",
        "/instruction/appels/{open}/formulaire/champs/{key_short_text}/deplacer",
        _fixed({"direction": "up"}),
    ),
    # Applications
    "apply": Form(
        "applicant",
        "/appels/{open}/candidater",
        lambda client, ids: {ids["question"]: "yes", "organisation": str(ids["org"])},
        count=_count(Application),
    ),
    "draft_save": Form(
        "applicant",
        "/dossiers/{app}",
        _draft_values,
        shown=(("applicant", "/dossiers/{app}"),),
        snapshot=_DRAFT_ROW,
    ),
    "draft_autosave": Form(
        "applicant", "/dossiers/{app}/enregistrer", _draft_values, snapshot=_DRAFT_ANSWERS
    ),
    "send_back": Form(
        "officer",
        "/instruction/dossiers/{fresh}/a-completer",
        lambda client, ids: {"message": "Il manque le budget.", "complete_by": _later()},
        setup=lambda client, w: {"fresh": _fresh_file(client, w, "submitted")},
        shown=(("applicant", "/dossiers/{fresh}"),),
        snapshot=_row(Application, "fresh", Application.status),
    ),
    "screen": Form(
        "officer",
        "/instruction/dossiers/{fresh}/recevabilite",
        _fixed({"decision": "ineligible", "reason": "Hors champ."}),
        setup=lambda client, w: {"fresh": _fresh_file(client, w, "submitted")},
        shown=(("officer", "{next}"), ("applicant", "/dossiers/{fresh}")),
        snapshot=_row(Application, "fresh", Application.status),
    ),
    "screen_bulk": Form(
        "officer",
        "/instruction/appels/{open}/dossiers/recevabilite",
        lambda client, ids: {"ids": str(ids["fresh"]), "decision": "ineligible", "reason": "Non."},
        setup=lambda client, w: {"fresh": _fresh_file(client, w, "submitted")},
        shown=(("officer", "/instruction/dossiers/{fresh}"),),
        snapshot=_row(Application, "fresh", Application.status),
    ),
    # Reviews
    "review_setup": Form(
        "officer",
        "/instruction/appels/{open}/evaluation",
        _fixed(
            {
                "reviews_wanted": "2",
                "rank_by": "mean",
                "visibility": "after_own",
                "threshold": "4",
                "due_at": "",
            }
        ),
    ),
    "pool_add": Form(
        "officer", "/instruction/appels/{open}/evaluation/evaluateurs", _fixed({"reviewer": "0"})
    ),
    "conflict_add": Form(
        "officer",
        "/instruction/appels/{open}/evaluation/conflits",
        lambda client, ids: {
            "reviewer": str(ids["reviewer2"]),
            "organisation": str(ids["fresh_org"]),
            "reason": "Ancien salarié.",
        },
        setup=lambda client, w: {"fresh_org": _organisation_of(client, w, "submitted")},
        shown=(("officer", "/instruction/appels/{open}/evaluation"),),
    ),
    "assign": Form(
        "officer",
        "/instruction/appels/{open}/evaluation/affectation",
        _fixed({"fingerprint": "x"}),
    ),
    "assign_one": Form(
        "officer",
        "/instruction/appels/{open}/evaluation/affectation-manuelle",
        lambda client, ids: {"application": "0", "reviewer": str(ids["reviewer2"])},
    ),
    "review": Form(
        "reviewer",
        "/evaluation/{assignment}",
        lambda client, ids: {
            f"score_{ids['criterion']}": "12",
            "opinion": "",
            "comment_staff": "",
            "comment_applicant": "",
            "action": "save",
        },
        shown=(
            ("reviewer", "/evaluation/{assignment}"),
            ("officer", "/instruction/dossiers/{reviewed}/evaluations"),
        ),
        snapshot=_row(Assignment, "assignment", Assignment.scores, Assignment.opinion),
    ),
    "review_submit": Form(
        "reviewer",
        "/evaluation/{assignment}",
        lambda client, ids: {f"score_{ids['criterion']}": "12", "opinion": "", "action": "submit"},
        snapshot=_row(Assignment, "assignment", Assignment.submitted_at),
    ),
    "review_total": Form(
        "reviewer",
        "/evaluation/{assignment}/total",
        lambda client, ids: {f"score_{ids['criterion']}": "12"},
    ),
    "decline": Form(
        "reviewer",
        "/evaluation/{fresh_assignment}/conflit",
        _fixed({"reason": "Je connais la présidente."}),
        setup=lambda client, w: {"fresh_assignment": _fresh_assignment(client, w)},
        shown=(("officer", "/instruction/appels/{open}/evaluation"),),
    ),
    "link": Form(
        "reviewer",
        "/evaluation/liens",
        lambda client, ids: {
            "q": ids["fresh_org_name"],
            "organisation": str(ids["fresh_org"]),
            "reason": "Bénévole.",
        },
        setup=lambda client, w: _named_organisation(client, w),
        shown=(("reviewer", "/evaluation/liens"),),
    ),
}


def _first_section(client, call_id: int) -> str:
    call = run(client, calls.get_call, call_id)
    if not call["form"]["sections"]:
        run(
            client,
            calls.change_form,
            call_id,
            lambda form: formspec.add_section(form, "Section"),
            actor=Actor(user_id=None),
        )
        call = run(client, calls.get_call, call_id)
    return call["form"]["sections"][0]["key"]


def _organisation_of(client, w, status: str) -> int:
    app_id = _fresh_file(client, w, status)
    row = run(
        client,
        lambda: (
            Application.select(Application.organisation)
            .where(Application.id == app_id)
            .first()
            .run()
        ),
    )
    return row["organisation"]


def _fresh_assignment(client, w) -> int:
    return _assign(client, _fresh_file(client, w, "in_review"), w["people"]["reviewer"])


def _named_organisation(client, w) -> dict:
    name = f"Lien {_n()} unique"
    org = make_organisation(client, w["people"]["applicant"], name=name)
    return {"fresh_org": org, "fresh_org_name": name}


def _submit(client, w, form_name: str, field_name: str, payload: str):
    """Send the form with ``payload`` in one field: (ids, response, rows before,
    snapshot before)."""
    form = FORMS[form_name]
    ids = dict(w["ids"])
    if form.setup:
        ids.update(form.setup(client, w))
    values = form.values(client, ids)
    values[field_name.format(**ids)] = payload
    person = As(client, w, form.role)
    if form.before:
        person.get(form.before)
    count = form.count(client) if form.count else None
    snapshot = form.snapshot(client, ids) if form.snapshot else None
    response = person.post(form.path.format(**ids), values)
    no_5xx(response, (form_name, field_name))
    never_markup(response.text)
    no_injected_header(response)
    return ids, response, count, snapshot


def no_injected_header(response) -> None:
    """No header value holds a line break, and the corpus's « Set-Cookie: pris=1 »
    never became a header."""
    for name, value in response.headers.multi_items():
        assert "\r" not in value and "\n" not in value, (name, value)
    assert not any("pris" in v for v in response.headers.get_list("set-cookie"))


# (form, field[, pages that show it, when not all of the form's]): free text.
FREE_TEXT = [
    ("sign_up", "full_name"),
    ("sign_in", "email"),
    ("sign_in", "password"),
    ("resend_confirmation", "email"),
    ("confirm_email", "token"),
    ("new_password", "token"),
    ("staff_invitation", "password"),
    ("second_factor", "code"),
    ("profile", "full_name"),
    ("change_password", "current_password"),
    ("change_password", "new_password"),
    ("reauth", "password"),
    ("erase", "password"),
    ("totp_disable", "password"),
    ("admin_invite", "full_name"),
    ("funder", "name"),
    ("funder", "address", (("admin", "{next}"),)),
    ("organisation_create", "name"),
    ("organisation_create", "street"),
    ("organisation_create", "city"),
    ("organisation_create", "legal_rep_name"),
    ("organisation_create", "legal_rep_title"),
    ("organisation_create", "description"),
    ("organisation_edit", "name"),
    ("join", "token"),
    ("call_create", "title"),
    ("call_create", "summary"),
    ("call_edit", "body", (("officer", "{next}"),)),  # Markdown on the public page: below
    ("eligibility", "label"),
    ("eligibility", "explanation"),
    ("document", "label"),
    ("criterion", "title"),
    ("criterion", "guidance"),
    ("section", "title"),
    ("form_field", "label"),
    # The builder lists a field without its help: the preview shows it as applicants will.
    ("form_field", "help", (("officer", "/instruction/appels/{draft}/apercu"),)),
    ("draft_save", "title"),
    ("draft_save", "{key_short_text}"),
    ("draft_save", "{key_long_text}"),
    ("draft_autosave", "title"),
    ("send_back", "message"),
    ("screen", "reason"),
    ("screen_bulk", "reason"),
    ("conflict_add", "reason"),
    ("review", "comment_staff"),
    ("review", "comment_applicant"),
    ("decline", "reason"),
    ("link", "reason"),
]


@pytest.mark.parametrize(("name", "payload"), params(CORPUS))
@pytest.mark.parametrize("case", FREE_TEXT, ids=[f"{c[0]}.{c[1]}" for c in FREE_TEXT])
def test_free_text(client, world, case, name, payload):
    """Refused (too long) or saved; where saved, shown as typed, never as markup."""
    form_name, field_name, *pages = case
    ids, response, _count, _snapshot = _submit(client, world, form_name, field_name, payload)
    assert response.status_code in (200, 303, 400, 422), response.status_code
    if response.status_code != 303:
        return
    for role, page in pages[0] if pages else FORMS[form_name].shown:
        path = response.headers["location"] if page == "{next}" else page.format(**ids)
        shown_page = As(client, world, role).get(path)
        assert shown_page.status_code == 200, (path, shown_page.status_code)
        shown(shown_page.text, name)


@pytest.mark.parametrize("name", ["script", "template", "markup"])
def test_markdown_of_a_call_is_inert(client, world, name):
    """The call's text is Markdown without raw HTML: markup shows as text."""
    _ids, response, _c, _s = _submit(client, world, "call_edit", "body", CORPUS[name])
    assert response.status_code == 303
    page = As(client, world, "anonymous").get(f"/appels/{world['ids']['open']}").text
    never_markup(page)
    assert {"script": "&lt;script&gt;", "template": "{{7", "markup": "&lt;font"}[name] in page


# (form, field, typed value shown again, odd values the field may accept): numbers,
# amounts, dates, identifiers and choices.
STRUCTURED = [
    ("sign_up", "email", True, ()),
    ("forgot_password", "email", True, ()),
    ("profile", "language", False, ()),
    ("admin_invite", "email", True, ()),
    ("admin_invite", "language", False, ()),
    ("admin_invite", "roles", False, ()),
    ("funder", "website", True, ()),
    ("organisation_create", "siret", True, ()),
    ("organisation_create", "rna", True, ()),
    ("organisation_create", "iban", True, ()),
    ("organisation_create", "bic", True, ()),
    ("organisation_create", "postcode", True, ()),
    ("organisation_create", "phone", True, ("digits30", "year1")),
    ("organisation_create", "contact_email", True, ()),
    ("organisation_create", "legal_form", False, ()),
    ("organisation_edit", "iban", True, ()),
    ("organisation_edit", "siret", True, ()),
    ("member_invite", "email", True, ()),
    ("member_invite", "role", False, ()),
    ("call_create", "reference_prefix", True, ("year1",)),
    ("call_create", "envelope", True, ()),
    ("call_create", "min_award", True, ()),
    ("call_create", "max_award", True, ()),
    ("call_create", "max_rate", True, ()),
    ("call_create", "opens_at", True, ()),
    ("call_create", "closes_at", True, ()),
    ("call_create", "silence_months", True, ()),
    ("call_create", "funder", False, ()),
    ("eligibility", "blocking", False, ()),
    ("document", "max_mb", True, ()),
    ("document", "kinds", False, ()),
    ("criterion", "weight", True, ()),
    ("criterion", "scale", True, ()),
    ("form_field", "type", False, ()),
    ("form_field", "condition", False, ()),
    ("form_field_long", "max_length", True, ()),
    ("apply", "{question}", False, ()),
    ("apply", "organisation", False, ()),
    ("draft_save", "{key_number}", True, ()),
    ("draft_save", "{key_money}", True, ()),
    ("draft_save", "{key_date}", True, ("year1",)),
    ("draft_save", "{key_email}", True, ()),
    ("draft_save", "{key_url}", True, ()),
    ("draft_save", "{key_single_choice}", False, ()),
    ("draft_save", "{key_multiple_choice}", False, ()),
    ("draft_save", "{key_yes_no}", False, ()),
    ("draft_save", "budget_charges_60", True, ()),
    ("draft_save", "budget_produits_74_etat", True, ()),
    ("draft_save", "requested", True, ()),
    ("send_back", "complete_by", True, ()),
    ("screen", "decision", False, ()),
    ("review_setup", "reviews_wanted", True, ()),
    ("review_setup", "rank_by", False, ()),
    ("review_setup", "visibility", False, ()),
    ("review_setup", "threshold", True, ()),
    ("review_setup", "due_at", True, ()),
    ("review", "score_{criterion}", True, ()),
    ("review_submit", "opinion", False, ()),
]


@pytest.mark.parametrize(("name", "payload"), params(ODD_VALUES))
@pytest.mark.parametrize("case", STRUCTURED, ids=[f"{c[0]}.{c[1]}" for c in STRUCTURED])
def test_structured_fields_refuse_with_a_message(client, world, case, name, payload):
    """Refused with a French message next to the field, what was typed kept, and
    nothing written."""
    form_name, field_name, kept, accepts = case
    ids, response, count, snapshot = _submit(client, world, form_name, field_name, payload)
    if name in accepts:
        return
    assert response.status_code == 422, (response.status_code, response.text[:300])
    message = field_error(response.text, field_name.format(**ids))
    assert message, f"no message next to the field {field_name}"
    assert_french(message)
    if kept:
        assert str(escape(typed(payload))) in response.text
    form = FORMS[form_name]
    if form.count:
        assert form.count(client) == count
    if form.snapshot is _DRAFT_ROW:
        # A draft saves its valid parts; the refused answer keeps its stored value.
        key = field_name.format(**ids)
        before, after = (
            a if isinstance(a := r["answers"], dict) else json.loads(a or "{}")
            for r in (snapshot, _DRAFT_ROW(client, ids))
        )
        assert after.get(key) == before.get(key) or key not in after
    elif form.snapshot:
        assert form.snapshot(client, ids) == snapshot


# (form, field[, values it may accept]): ids, flags, tokens, hidden values — no message
# to show, but never a 500 and nothing written.
ROBUST = [
    ("sign_in", "next"),
    ("reauth", "next"),
    ("second_factor", "code"),
    ("totp_enable", "code"),
    ("admin_roles", "role"),
    ("admin_roles", "action"),
    ("admin_status", "active"),
    ("admin_settings", "mandatory_totp"),
    ("member_role", "role"),
    ("call_transition", "action"),
    ("field_move", "direction"),
    ("draft_save", "version"),
    ("draft_autosave", "version"),
    ("draft_autosave", "{key_money}", ("int4_overflow",)),  # 21 474 836,48 € is an amount
    ("screen_bulk", "ids"),
    ("screen_bulk", "decision"),
    ("pool_add", "reviewer"),
    ("conflict_add", "reviewer"),
    ("conflict_add", "organisation"),
    ("assign", "fingerprint"),
    ("assign_one", "application"),
    ("assign_one", "reviewer"),
    ("review_total", "score_{criterion}"),
    ("link", "organisation"),
    ("link", "q"),
]


# Ids and flags are compared, not parsed as text: the values that trip number parsing.
ROBUST_VALUES = {
    **{k: ODD_VALUES[k] for k in ("script_sql", "crlf", "superscript", "digits5000", "digits30")},
    "int4_overflow": "2147483648",  # one past PostgreSQL's integer
}


@pytest.mark.parametrize(("name", "payload"), params(ROBUST_VALUES))
@pytest.mark.parametrize("case", ROBUST, ids=[f"{c[0]}.{c[1]}" for c in ROBUST])
def test_hidden_and_id_fields_never_break(client, world, case, name, payload):
    form_name, field_name, *accepts = case
    ids, response, count, snapshot = _submit(client, world, form_name, field_name, payload)
    assert response.status_code in (200, 303, 400, 404, 409, 422), response.status_code
    if accepts and name in accepts[0]:
        return
    form = FORMS[form_name]
    if form.count:
        assert form.count(client) == count
    if form.snapshot:
        assert form.snapshot(client, ids) == snapshot


# --- Query strings --------------------------------------------------------------------------------

# Pages that read their whole query string (a filter form) rather than declared
# parameters: the names their filter form sends.
_TABLE_FILTERS = ("status", "organisation", "q", "min", "max", "from", "to", "sort", "order")
_JOURNAL_FILTERS = ("object_type", "object_id", "acteur", "action", "du", "au")
READS_QUERY_STRING = {
    "/journal": _JOURNAL_FILTERS,
    "/journal/export.csv": _JOURNAL_FILTERS,
    "/instruction/appels/{call_id:int}/dossiers": (*_TABLE_FILTERS, "page"),
    "/instruction/appels/{call_id:int}/dossiers/export.csv": _TABLE_FILTERS,
    "/instruction/appels/{call_id:int}/dossiers/export.xlsx": _TABLE_FILTERS,
    # The committee sheet: its filters and the row opened for editing.
    "/instruction/appels/{call_id:int}/decisions": (
        "decision",
        "status",
        "mark_min",
        "mark_max",
        "q",
        "edit",
        "row",
    ),
}


def _get_routes() -> list[tuple[str, tuple[str, ...], bool]]:
    """(route path, declared query parameters, reads the whole query string) of every
    GET route, from the router of an app built for the purpose (its database is never
    opened; the engine bound before is bound again)."""
    import tempfile
    import typing
    from pathlib import Path

    from litestar.params import FromQuery

    from app.core import db
    from app.main import create_app
    from tests.conftest import make_settings

    query_kind = type(typing.get_args(FromQuery)[1])
    try:
        previous = db.current_engine()
    except Exception:
        previous = None
    with tempfile.TemporaryDirectory(prefix="guichet-routes-") as directory:
        data = Path(directory)
        app = create_app(make_settings(f"sqlite:///{data / 'unused.sqlite3'}", data))
    if previous is not None:
        db.bind(previous)
    return [
        (
            route.path,
            tuple(
                name
                for name, definition in handler.parsed_fn_signature.parameters.items()
                if isinstance(definition.kwarg_definition, query_kind)
            ),
            "query_params" in inspect.getsource(handler.fn),
        )
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if "GET" in handler.http_methods and not route.path.startswith("/static")
    ]


GET_ROUTES = _get_routes()
# Route path -> the query parameters it reads: those its handler declares
# (``FromQuery``) and the filter forms of READS_QUERY_STRING.
QUERY_PARAMETERS = {
    path: declared + READS_QUERY_STRING.get(path, ())
    for path, declared, _reads in GET_ROUTES
    if declared or path in READS_QUERY_STRING
}

# One request per parameter; exports share their page's parser, so every parameter
# of theirs gets the value at once.
QUERY_CASES = [
    (path, name)
    for path, names in QUERY_PARAMETERS.items()
    for name in (("*",) if re.search(r"export", path) else names)
]
QUERY_VALUES = {
    **{k: CORPUS[k] for k in ("script", "template", "crlf", "long")},
    **{k: ODD_VALUES[k] for k in ("superscript", "digits30", "year1")},
    "digits18": "9" * 18,  # an int64, but not once multiplied by a page size
    "int4_overflow": "2147483648",  # one past PostgreSQL's integer
}


def test_every_reader_of_the_whole_query_string_is_listed():
    """A page that reads ``request.query_params`` itself has its filters listed above."""
    readers = {path for path, _declared, reads in GET_ROUTES if reads}
    assert readers == set(READS_QUERY_STRING)


def _role_for(route: str) -> str:
    """The first person the access matrix lets open ``route``."""
    from tests.integration.test_route_matrix import MATRIX

    expected = MATRIX[("GET", route)][1]
    for role in ("anonymous", "owner", "reviewer", "officer", "admin"):
        if expected[role] in (200, 303):
            return {"owner": "applicant"}.get(role, role)
    return "anonymous"


def _concrete(world, route: str) -> tuple[str, str]:
    """(role, path) to open ``route`` with: the access matrix's example, as the first
    person it lets in."""
    from tests.integration.test_route_matrix import MATRIX

    ids = {
        **world["ids"],
        "published": world["ids"]["open"],
        "reviewed_call": world["ids"]["open"],
        "decided_call": world["ids"]["open"],
    }
    return _role_for(route), MATRIX[("GET", route)][0].split("?")[0].format(**ids)


@pytest.fixture(scope="module")
def api_token(client, world):
    from app.accounts.services import load_current_user
    from app.api import services as api

    officer = world["people"]["officer"]
    user = run(client, load_current_user, officer["id"])
    return run(client, api.create_token, user, "corpus", actor=Actor(user_id=officer["id"]))


@pytest.mark.parametrize(("name", "payload"), params(QUERY_VALUES))
@pytest.mark.parametrize("case", QUERY_CASES, ids=[f"{p}?{n}" for p, n in QUERY_CASES])
def test_query_parameters(client, world, api_token, case, name, payload):
    """Never a 500; what the page shows again of its query is inert; a redirect stays
    on the site, without a header of the payload's."""
    route, parameter = case
    role, path = _concrete(world, route)
    names = QUERY_PARAMETERS[route] if parameter == "*" else (parameter,)
    headers = {"Authorization": f"Bearer {api_token}"} if route.startswith("/api/") else {}
    response = As(client, world, role).get(
        path, params=dict.fromkeys(names, payload), headers=headers
    )
    no_5xx(response, (route, parameter))
    no_injected_header(response)
    if response.headers.get("content-type", "").startswith("text/html"):
        never_markup(response.text)
    if response.is_redirect:
        safe_location(response.headers["location"])


def safe_location(location: str) -> None:
    """A redirect to a path of this site."""
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and not any(ord(c) < 0x20 for c in location), location


# --- Receipts and letters -----------------------------------------------------------------------


def visible(text: str) -> str:
    """What a PDF can show of a text: the letters' own rule (no controls or invisible
    marks, « � » for what the font lacks), without whitespace (lines wrap anywhere).
    Characters beyond U+FFFF (emoji) are drawn but cannot be read back: reportlab
    writes them in the font's ToUnicode map as one code, not a UTF-16 pair."""
    from app.core.pdf import printable

    return "".join(c for c in re.sub(r"\s+", "", printable(text)) if ord(c) <= 0xFFFF)


def _upload(person: As, path: str, filename: bytes, content: bytes = MINIMAL_PDF):
    """A multipart upload whose file name goes as raw bytes in its part header (no
    client library escapes it), the CSRF token first, as the page's form sends it."""
    boundary = "----corpus" + str(_n())
    person.use()
    token = csrf_token(person.client)
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="_csrf_token"\r\n\r\n'
            f"{token}\r\n"
            f"--{boundary}\r\n"
        ).encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = person.client.post(
        path,
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        follow_redirects=False,
    )
    person.keep()
    return response


def _stored_texts(client, app_id: int) -> dict[str, str]:
    from app.applications import services as applications
    from app.funders.tables import Funder

    app = run(client, lambda: Application.select().where(Application.id == app_id).first().run())
    org = run(
        client,
        lambda: (
            Organisation.select(Organisation.name)
            .where(Organisation.id == app["organisation"])
            .first()
            .run()
        ),
    )
    call = run(client, calls.get_call, app["call"])
    funder = run(client, lambda: Funder.select().where(Funder.id == call["funder"]).first().run())
    files = run(client, applications.current_attachments, app_id)
    return {
        "organisation": org["name"],
        "project": app["title"],
        "call": call["title"],
        "funder": funder["name"],
        "document": files[0].original_name,
    }


@pytest.mark.parametrize(("name", "payload"), params(CORPUS))
def test_receipt_and_letter_show_the_texts_as_text(client, world, name, payload):
    """A funder, a call, an organisation, a project and a document named with the
    payload (each through its form), the file submitted, screened and awarded: the
    receipt and the award letter print every one of these names as text."""
    people = world["people"]
    call = make_call(client, people["officer"], publish=True)
    row = run(client, calls.get_call, call)
    ids = {**world["ids"], "funder": row["funder"]}
    admin = As(client, world, "admin")
    no_5xx(admin.post(f"/admin/financeurs/{row['funder']}", {"name": payload, "address": ""}))
    officer = As(client, world, "officer")
    no_5xx(officer.post(f"/instruction/appels/{call}", {**_call_values(ids), "title": payload}))
    applicant = As(client, world, "applicant")
    created = applicant.post("/structures/nouvelle", {**_organisation_values(ids), "name": payload})
    no_5xx(created)
    if created.status_code == 303:
        org = int(created.headers["location"].rsplit("/", 1)[1])
    else:  # too long: refused
        org = make_organisation(client, people["applicant"])
    started = applicant.post(f"/appels/{call}/candidater", {"organisation": str(org)})
    assert started.status_code == 303, started.text[:300]
    app_id = int(started.headers["location"].rsplit("/", 1)[1])
    field_key = formspec.fields_of(row["form"])[0]["key"]
    values = {
        **_draft_values(client, {"app": app_id}),
        "title": payload,
        field_key: "Description du projet.",
        "budget_charges_64": "20 000",
        "budget_produits_74_etat": "10 000",
    }
    saved = applicant.post(f"/dossiers/{app_id}", values)
    if saved.status_code == 422:  # the title is too long (the rest is saved: a new version)
        again = {**values, **_draft_values(client, {"app": app_id})}
        saved = applicant.post(f"/dossiers/{app_id}", again)
    assert saved.status_code == 303, saved.text[:300]
    uploaded = _upload(
        applicant,
        f"/dossiers/{app_id}/pieces/{row['documents'][0]['key']}",
        payload[:200].encode() + b".pdf",  # as long as a file system lets a name be
    )
    assert uploaded.status_code == 303, uploaded.text[:300]
    submitted = applicant.post(f"/dossiers/{app_id}/deposer", DECLARATION)
    assert submitted.status_code == 303, submitted.text[:500]

    texts = _stored_texts(client, app_id)
    receipt = applicant.get(f"/dossiers/{app_id}/accuse-de-reception.pdf")
    assert receipt.status_code == 200
    no_injected_header(receipt)
    printed = visible(pdf_text(receipt.content))
    for what, text in texts.items():
        assert visible(text) in printed, (what, text[:80])
    if name == "markup":
        assert visible("<font color=red>rouge</font>") in printed

    letter = _award_and_write_letter(client, world, call, app_id, officer)
    printed = visible(pdf_text(letter.content))
    for what in ("organisation", "project", "call"):
        assert visible(texts[what]) in printed, (what, texts[what][:80])


def _award_and_write_letter(client, world, call: int, app_id: int, officer: As):
    """Screened eligible through its form, awarded, published, the letter written."""
    screened = officer.post(
        f"/instruction/dossiers/{app_id}/recevabilite", {"decision": "eligible"}
    )
    assert screened.status_code == 303
    publish_award(client, world["people"]["officer"], call, app_id, schedule="single")
    write_letters(client)
    response = officer.get(f"/instruction/dossiers/{app_id}/courriers/{letter_of(client, app_id)}")
    assert response.status_code == 200
    no_injected_header(response)
    return response


# --- File names, redirects, e-mails ---------------------------------------------------------------

# File names as a multipart part header may carry them (raw bytes between the quotes):
# escaped quotes, percent-encoded line breaks (what browsers send), a lone line feed,
# header syntax, markup, path segments.
FILE_NAMES = {
    "escaped_quote": b'rapport \\"final\\".pdf',
    "encoded_crlf": b"ligne%0D%0ASet-Cookie: pris=1.pdf",
    "lone_lf": b"ligne\nSet-Cookie: pris=1.pdf",
    "header_syntax": b"a.pdf; filename*=UTF-8''pris%0D%0A.pdf",
    "markup": b"<script>alert('x')</script>.pdf",
    "path": b"..\\..\\etc/passwd.pdf",
    "unicode": "\u202eàrebours\u200b 漢字 😀.pdf".encode(),
    "long": b"x" * 5000 + b".pdf",
}


@pytest.mark.parametrize("filename", FILE_NAMES.values(), ids=FILE_NAMES.keys())
def test_uploaded_file_names_never_reach_a_header(client, world, filename):
    """Stored under a cleaned name; shown inertly; downloaded with one
    Content-Disposition that holds no line break, no quote, nothing of a header."""
    app_id = world["ids"]["app"]
    applicant = As(client, world, "applicant")
    uploaded = _upload(applicant, f"/dossiers/{app_id}/pieces/{world['ids']['document']}", filename)
    no_5xx(uploaded)
    no_injected_header(uploaded)
    if uploaded.status_code != 303:
        assert uploaded.status_code in (400, 422)
        return
    never_markup(applicant.get(f"/dossiers/{app_id}").text)
    attachment = run(
        client,
        lambda: (
            Attachment.select(Attachment.id)
            .where(Attachment.application == app_id)
            .order_by(Attachment.id, ascending=False)
            .first()
            .run()
        ),
    )
    download = applicant.get(f"/dossiers/{app_id}/pieces/{attachment['id']}")
    assert download.status_code == 200
    no_injected_header(download)
    dispositions = download.headers.get_list("content-disposition")
    assert len(dispositions) == 1, dispositions
    fallback = re.fullmatch(
        r"""attachment; filename="([A-Za-z0-9._ ()-]+)"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)""",
        dispositions[0],
    )
    assert fallback, dispositions[0]


@pytest.mark.parametrize(("name", "payload"), params(CORPUS))
def test_messages_with_hostile_text_and_file_name(client, world, name, payload):
    """A message (multipart, streamed) whose text and attached file name are the payload."""
    app_id = world["ids"]["app"]
    applicant = As(client, world, "applicant")
    boundary = "----corpus" + str(_n())
    applicant.use()
    parts = [
        ("_csrf_token", None, csrf_token(client).encode()),
        ("body", None, payload.encode()),
        ("file", payload[:200].encode() + b".pdf", MINIMAL_PDF),
    ]
    body = b""
    for field_name, filename, content in parts:
        body += f"--{boundary}\r\n".encode()
        body += f'Content-Disposition: form-data; name="{field_name}"'.encode()
        if filename is not None:
            body += b'; filename="' + filename.replace(b'"', b"%22") + b'"'
            body += b"\r\nContent-Type: application/pdf"
        body += b"\r\n\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    posted = client.post(
        f"/dossiers/{app_id}/messages",
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        follow_redirects=False,
    )
    applicant.keep()
    no_5xx(posted)
    assert posted.status_code == 303
    page = applicant.get(f"/dossiers/{app_id}").text
    never_markup(page)
    if name != "long":  # longer than a message may be: refused with a message
        shown(page, name)
    staff = As(client, world, "officer").get(f"/instruction/dossiers/{app_id}").text
    never_markup(staff)


REDIRECT_TARGETS = {
    **CORPUS,
    "other_site": "//evil.example/",
    "backslash": "/\\evil.example/",
    "scheme": "https://evil.example/",
    "javascript": "javascript:alert(1)",
    "encoded_crlf": "/%0d%0aSet-Cookie:%20pris=1",
    "tab": "/\t/evil.example/",
}


@pytest.mark.parametrize(("name", "target"), params(REDIRECT_TARGETS))
def test_next_parameters_redirect_on_this_site_only(client, world, name, target):
    """Sign-in, password confirmation and the language switch go back to ``next``
    only when it is a path of this site, and never put a line break in Location."""
    language = As(client, world, "anonymous").get(
        "/langue", params={"lang": "en", "suivant": target}
    )
    assert language.status_code == 303
    safe_location(language.headers["location"])
    no_injected_header(language)
    person = world["people"]["applicant"]
    client.cookies.clear()
    client.app.state.rate_limiter._counts.clear()
    signed_in = post_form(
        client, "/connexion", {"email": person["email"], "password": PASSWORD, "next": target}
    )
    assert signed_in.status_code == 303, signed_in.text[:300]
    safe_location(signed_in.headers["location"])
    no_injected_header(signed_in)
    confirmed = post_form(client, "/connexion/confirmer", {"password": PASSWORD, "next": target})
    assert confirmed.status_code == 303
    safe_location(confirmed.headers["location"])
    no_injected_header(confirmed)
    if target.startswith("/") and name in ("encoded_crlf",):
        assert confirmed.headers["location"] == target  # a real path, kept as typed


def test_nul_bytes_never_reach_the_handlers(client, world):
    """The NUL remover is not fooled by a NUL spelled across the removed one
    (« %%0000 » reads « %00 » once « %00 » is taken out)."""
    applicant = As(client, world, "applicant")
    officer = As(client, world, "officer")
    for spelling in ("%%0000", "%%%00000000", "%\x0000", "a%00b"):
        applicant.use()
        body = f"full_name=Nul{spelling}fin&language=fr&_csrf_token={csrf_token(client)}"
        response = client.post(
            "/compte",
            content=body.encode("latin-1"),
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        applicant.keep()
        no_5xx(response, spelling)
        assert response.status_code in (303, 422)
        name = run(
            client,
            lambda: (
                User.select(User.full_name)
                .where(User.id == world["people"]["applicant"]["id"])
                .first()
                .run()
            ),
        )["full_name"]
        assert "\x00" not in name, spelling
        officer.use()
        journal = client.get(f"/journal?acteur=a{quote(spelling, safe='%')}b")
        no_5xx(journal, spelling)
        assert "\x00" not in journal.text


# Free text of forms that send an e-mail (sign-up, staff invitation, screening).
MAILING_FIELDS = [
    ("sign_up", "full_name"),
    ("admin_invite", "full_name"),
    ("send_back", "message"),
    ("screen", "reason"),
]


def test_outbox_messages_hold_one_address_and_a_one_line_subject(client, world):
    """Every e-mail the corpus caused — sign-ups, invitations, screenings, messages, a
    member invitation from an organisation named with each payload: one plain address,
    a subject on one line, no header of the payload's, the HTML part inert."""
    from app.core.mail import build_message, check_address

    for text in CORPUS.values():  # the forms that send an e-mail, each payload once
        for form_name, field_name in MAILING_FIELDS:
            _submit(client, world, form_name, field_name, text)
    applicant = As(client, world, "applicant")
    org = world["ids"]["edited_org"]
    for text in CORPUS.values():
        renamed = applicant.post(
            f"/structures/{org}/modifier",
            {**_organisation_values(world["ids"]), "name": text},
        )
        no_5xx(renamed)
        invited = applicant.post(
            f"/structures/{org}/membres/inviter",
            {"email": f"invite{_n()}@asso.test", "role": "member"},
        )
        assert invited.status_code == 303
    messages = run(client, lambda: OutboxMessage.select().run())
    assert len({m["template"] for m in messages}) >= 5, {m["template"] for m in messages}
    expected_headers = {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        "content-type",
        "mime-version",
        "content-transfer-encoding",
    }
    for message in messages:
        assert check_address(message["to_address"]) == message["to_address"]
        assert "\r" not in message["subject"] and "\n" not in message["subject"]
        never_markup(message["body_html"] or "")
        built = build_message(
            message_id=message["message_id"],
            from_address="Guichet <ne-pas-repondre@guichet.invalid>",
            to=message["to_address"],
            subject=message["subject"],
            text=message["body_text"] or "-",
            html=message["body_html"] or "",
            created_at=message["created_at"] or datetime.now(UTC),
        )
        parsed = message_from_bytes(built.as_bytes())
        names = {k.lower() for k in parsed}
        assert names <= expected_headers, names - expected_headers
        assert len(parsed.get_all("To")) == 1


def test_no_audit_entry_or_row_holds_a_nul(client, world):
    """No stored text holds a NUL character: after the whole corpus, and after the NUL
    sent here into an organisation's name and a conflict's reason (audited both)."""
    for form_name, field_name in (("organisation_edit", "name"), ("conflict_add", "reason")):
        saved = _submit(client, world, form_name, field_name, CORPUS["nul"])[1]
        assert saved.status_code == 303, (form_name, saved.status_code)
    entries = run(client, lambda: AuditEntry.select(AuditEntry.summary).run())
    assert not any("\\u0000" in json.dumps(e["summary"]) for e in entries)
    names = run(client, lambda: Organisation.select(Organisation.name).run())
    assert not any("\x00" in n["name"] for n in names)
    reasons = run(client, lambda: Conflict.select(Conflict.reason).run())
    assert not any("\x00" in r["reason"] for r in reasons)


# --- Path parameters ----------------------------------------------------------------------------

PATH_ROUTES = sorted(
    path for path, _declared, _reads in GET_ROUTES if re.search(r"\{\w+:(int|str)\}", path)
)
PATH_VALUES = {
    "int4_overflow": "2147483648",  # one past PostgreSQL's integer
    "int8_overflow": "9" * 20,
    "script": quote(CORPUS["script"], safe=""),
    "crlf": quote(CORPUS["crlf"], safe=""),
    "unicode": quote(CORPUS["unicode"], safe=""),
}


@pytest.mark.parametrize(("name", "value"), params(PATH_VALUES))
@pytest.mark.parametrize("route", PATH_ROUTES)
def test_path_parameters(client, world, api_token, route, name, value):
    """Ids beyond any database integer and text in id or key segments: a 404 (or the
    page), never a 500."""
    role = _role_for(route)
    path = re.sub(r"\{\w+:(int|str)\}", value, route)
    headers = {"Authorization": f"Bearer {api_token}"} if route.startswith("/api/") else {}
    response = As(client, world, role).get(path, headers=headers)
    no_5xx(response, path)
    no_injected_header(response)
    if response.headers.get("content-type", "").startswith("text/html"):
        never_markup(response.text)
