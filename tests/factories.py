"""Factories: real rows through the services, run in the app's own event loop."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from app.accounts.services import create_user
from app.accounts.tables import StaffRole

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def run(client, func, /, *args, **kwargs):
    """Run ``await func(*args, **kwargs)`` in the loop the app runs in."""
    return client.blocking_portal.call(functools.partial(func, *args, **kwargs))


def make_user(client, roles: Iterable[StaffRole | str] = (), **fields) -> dict:
    n = next(_seq)
    values = {
        "email": f"person{n}@test.guichet.test",
        "full_name": f"Person {n} Test",
        "password": PASSWORD,
    }
    values.update(fields)
    user_id = run(client, create_user, roles=[StaffRole(r) for r in roles], **values)
    return {"id": user_id, **values}


def csrf_token(client) -> str:
    """The CSRF token the app gives this client (fetching a page if needed)."""
    if "guichet_csrf" not in client.cookies:
        client.get("/connexion")
    return client.cookies["guichet_csrf"]


def sign_in(client, user: dict) -> None:
    response = client.post(
        "/connexion",
        data={
            "email": user["email"],
            "password": user["password"],
            "_csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def sign_out(client) -> None:
    client.post("/deconnexion", data={"_csrf_token": csrf_token(client)}, follow_redirects=False)


@contextmanager
def signed_in(client, user: dict) -> Iterator[dict]:
    """``with signed_in(client, user):`` the block runs signed in as ``user``, who is
    signed out after it, even when the block fails."""
    sign_in(client, user)
    try:
        yield user
    finally:
        sign_out(client)


def text_of(html: str) -> str:
    """Visible text, whitespace collapsed (for assertions on what people read)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def set_cookie(client, name: str, value: str) -> None:
    """Set a cookie the way the browser holds the server's (same domain)."""
    client.cookies.set(name, value, domain="testserver.local", path="/")


def page_with_session(client, session_id: str, path: str = "/") -> str:
    """What someone holding only ``session_id`` sees at ``path`` (cookies restored after)."""
    saved = [(c.name, c.value, c.domain, c.path) for c in client.cookies.jar]
    client.cookies.clear()
    set_cookie(client, "guichet_session", session_id)
    try:
        return client.get(path).text
    finally:
        client.cookies.clear()
        for name, value, domain, cookie_path in saved:
            client.cookies.set(name, value, domain=domain, path=cookie_path)


def emails_to(client, address: str) -> list[dict]:
    """The messages the outbox holds for ``address``, oldest first."""
    from app.core.tables import OutboxMessage

    return run(
        client,
        lambda: (
            OutboxMessage.select(
                OutboxMessage.subject,
                OutboxMessage.body_text,
                OutboxMessage.body_html,
                OutboxMessage.template,
            )
            .where(OutboxMessage.to_address == address.lower())
            .order_by(OutboxMessage.id)
            .run()
        ),
    )


def link_in(email: dict) -> str:
    """The local part (path and query) of the first Guichet link in an e-mail."""
    match = re.search(r"https?://[^/\s]+(/\S+)", email["body_text"])
    assert match, email["body_text"]
    return match.group(1)


# The sworn statement « Vérifier et déposer » asks for (CERFA 12156).
DECLARATION = {
    "declarant_name": "Camille Exemple",
    "declarant_capacity": "présidente",
    "certify": "yes",
}


def post_form(client, path: str, data: dict | None = None, **kwargs):
    """POST a form with the CSRF token, as the browser does."""
    kwargs.setdefault("follow_redirects", False)
    return client.post(path, data={**(data or {}), "_csrf_token": csrf_token(client)}, **kwargs)


def make_organisation(client, owner: dict, **overrides) -> int:
    """An organisation owned by ``owner`` (valid, unique identifiers)."""
    from stdnum import luhn

    from app.accounts.services import Actor
    from app.organisations.services import clean_organisation, create_organisation

    n = next(_seq)
    siren8 = f"{70000000 + n:08d}"
    siren = siren8 + luhn.calc_check_digit(siren8)
    base = siren + "0001"
    values = {
        "name": f"Association {n}",
        "legal_form": "association",
        "siret": base + luhn.calc_check_digit(base),
        "rna": f"W75{n:07d}",
        "street": "1 rue de la Paix",
        "postcode": "75002",
        "city": "Paris",
        "legal_rep_name": "Présidence Test",
        "legal_rep_title": "Président·e",
        "contact_email": f"contact{n}@asso.test",
        "phone": "01 00 00 00 00",
        "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPP",
        "description": "",
    }
    values.update(overrides)
    cleaned, errors = clean_organisation(values)
    assert not errors, errors
    return run(client, create_organisation, cleaned, actor=Actor(user_id=owner["id"]))


def make_call(client, officer: dict, *, publish: bool = False, **overrides) -> int:
    """A call with one section and one field, open for 30 days (published if asked)."""
    from datetime import UTC, datetime, timedelta

    from app.accounts.services import Actor
    from app.calls import formspec, services
    from app.funders.services import ensure_funder

    n = next(_seq)
    funder = run(
        client,
        ensure_funder,
        name=f"Région {n}",
        slug=f"region-{n}",
        kind="région",
        address="",
        website="",
    )
    values = {
        "funder": funder,
        "title": f"Appel à projets {n}",
        "reference_prefix": f"AAP{n}-2026",
        "summary": "Un appel pour tester.",
        "body": "Texte **complet**.",
        "envelope_cents": 100_000_000,
        "min_award_cents": 1_000_000,
        "max_award_cents": 20_000_000,
        "max_rate_bp": 8000,
        "opens_at": datetime.now(UTC) - timedelta(days=1),
        "closes_at": datetime.now(UTC) + timedelta(days=30),
    }
    values.update(overrides)
    actor = Actor(user_id=officer["id"])
    call_id = run(client, services.create_call, values, actor=actor)

    def with_field(form: dict) -> dict:
        form = formspec.add_section(form, "Le projet")
        field = formspec.clean_field(
            {"type": "long_text", "label": "Description", "required": "yes"}, form
        )
        return formspec.add_field(form, form["sections"][0]["key"], field)

    run(client, services.change_form, call_id, with_field, actor=actor)
    run(
        client,
        services.add_document,
        call_id,
        {"label": "Statuts", "required": "yes", "kinds": ["pdf"], "max_mb": "1"},
        actor=actor,
    )
    if publish:
        run(client, services.transition, call_id, "publish", actor=actor)
    return call_id


def make_application(client, owner: dict, org_id: int, call_id: int) -> int:
    from app.accounts.services import Actor, load_current_user
    from app.applications import services

    user = run(client, load_current_user, owner["id"])
    return run(
        client,
        services.start_application,
        call_id,
        org_id,
        user=user,
        actor=Actor(user_id=owner["id"]),
    )


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def attach_pdf(
    client,
    owner: dict,
    app_id: int,
    document_key: str,
    name: str = "statuts.pdf",
    content: bytes = MINIMAL_PDF,
) -> int:
    """Attach a PDF (small unless ``content`` says otherwise) through the real storage
    and service."""
    from app.accounts.services import Actor, load_current_user
    from app.applications import services
    from app.applications.services import NewFile
    from app.core.storage import FileStorage
    from app.quotas import StorageLimits

    files = FileStorage.of_app(client.app)
    stored = files.store_bytes(content, filename=name, kinds={"pdf"})
    user = run(client, load_current_user, owner["id"])
    return run(
        client,
        services.add_attachment,
        app_id,
        document_key,
        NewFile.of(stored),
        user=user,
        actor=Actor(user_id=owner["id"]),
        limits=StorageLimits.from_settings(client.app.state.settings),
        storage=files,
    )


class QueryCounter:
    """Counts the SQL queries the app runs (wraps the engine's entry point)."""

    def __init__(self, monkeypatch):
        from app.core import db

        engine = db.current_engine()
        original = type(engine).run_querystring
        self.count = 0

        async def counting(engine_self, *args, **kwargs):
            self.count += 1
            return await original(engine_self, *args, **kwargs)

        monkeypatch.setattr(type(engine), "run_querystring", counting)

    def measure(self, action) -> int:
        before = self.count
        action()
        return self.count - before


def make_decidable(
    client,
    owner: dict,
    call_id: int,
    *,
    requested: int = 10_000_000,
    cost: int | None = None,
    status: str = "eligible",
) -> int:
    """A file screened eligible, waiting for the committee, of a new organisation of
    ``owner``: ``requested`` cents out of a project costing ``cost`` (default: twice)."""
    import json

    from app.applications.tables import Application

    app_id = make_application(client, owner, make_organisation(client, owner), call_id)
    cost = cost if cost is not None else requested * 2
    budget = {"charges": {"64": cost}, "produits": {"74_etat": cost - requested}}
    run(
        client,
        lambda: (
            Application.update(
                {
                    Application.status: status,
                    Application.reference: f"DEC-{app_id:05d}",
                    Application.title: f"Projet {app_id}",
                    Application.requested_cents: requested,
                    Application.budget: json.dumps(budget),
                }
            )
            .where(Application.id == app_id)
            .run()
        ),
    )
    return app_id


def publish_award(
    client,
    officer: dict,
    call_id: int,
    app_id: int,
    *,
    amount: int | None = None,
    schedule: str = "50-30-20",
) -> None:
    """The committee awards ``app_id`` (``amount`` cents, default: what it requested)
    and the officer publishes the call's decisions; the letters are not written yet
    (``write_letters``)."""
    from app.accounts.services import Actor
    from app.decisions import services as decisions

    actor = Actor(user_id=officer["id"], label=officer["email"])
    run(
        client,
        decisions.save_settings,
        call_id,
        {
            "deliberation_reference": "CP 2017-123",
            "deliberation_date": "2017-05-17",
            "schedule_preset": schedule,
        },
        actor=actor,
    )
    run(client, decisions.decide, app_id, outcome="award", amount=amount, reason="", actor=actor)
    token = run(client, decisions.pending, call_id).token
    run(client, decisions.publish, call_id, token, actor=actor)


def write_letters(client, *, base_url: str = "", processes: int = 1) -> int:
    """Run the letter batches waiting (as the background loop does); how many ran."""
    from app.core.storage import FileStorage
    from app.decisions import jobs

    settings = client.app.state.settings
    return run(
        client,
        jobs.run_pending,
        storage=FileStorage.from_settings(settings),
        base_url=base_url,
        data_dir=settings.data_dir,
        processes=processes,
    )


def letter_of(client, app_id: int) -> int:
    """The id of the letter written for ``app_id``."""
    from app.decisions.tables import Letter

    query = Letter.select(Letter.id).where(Letter.application == app_id).first()
    return run(client, query.run)["id"]


def make_grant(
    client,
    officer: dict,
    owner: dict,
    *,
    amount: int = 20_000_000,
    schedule: str = "50-30-20",
    accept: bool = True,
    agreement: bool = True,
) -> dict:
    """A published award of ``amount`` cents to a new organisation of ``owner`` (its
    project costs twice that), accepted unless told otherwise, with its signed
    agreement when one is required (unless ``agreement=False``): {grant, app, call}."""
    from app.accounts.services import Actor
    from app.grants import services as grants

    call = make_call(client, officer, publish=True, max_award_cents=0, envelope_cents=10**12)
    app_id = make_decidable(client, owner, call, requested=amount)
    publish_award(client, officer, call, app_id, amount=amount, schedule=schedule)
    grant = run(client, grants.grant_of, app_id)
    if accept:
        run(
            client,
            grants.accept,
            grant.id,
            signatory_name="Alex Exemple",
            signatory_capacity="Président",
            conditions_ticked=True,
            user_id=owner["id"],
            actor=Actor(user_id=owner["id"], ip="192.0.2.1"),
        )
        if agreement and grant.agreement_required:
            from app.core.storage import FileStorage

            stored = FileStorage.of_app(client.app).store_bytes(
                MINIMAL_PDF, filename="convention.pdf", kinds={"pdf"}
            )
            from app.grants import agreements

            files = FileStorage.of_app(client.app)
            agreement_id = run(
                client,
                agreements.receive_upload,
                grant.id,
                storage_id=stored.storage_id,
                name=stored.filename,
                sha256=stored.sha256,
                actor=Actor(user_id=owner["id"]),
            )
            run(
                client,
                agreements.check_upload,
                grant.id,
                agreement_id,
                accept=True,
                reason="",
                files=files,
                actor=Actor(user_id=officer["id"]),
            )
    return {"grant": grant.id, "app": app_id, "call": call}


def attach_report_documents(client, app_id: int, kind: str, *documents: str) -> None:
    """Attach a PDF as each of these documents of a grant's report, through its upload
    form (the client is signed in as a member of the organisation)."""
    sent = client.post(
        f"/dossiers/{app_id}/bilans/{kind}/pieces",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            *((f"file-{d}", (f"{d}.pdf", MINIMAL_PDF, "application/pdf")) for d in documents),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text[:300]


def make_committee(
    client,
    officer: dict,
    *,
    files: int,
    requested: int = 1_500_000,
    organisations: int = 3,
    status: str = "reviewed",
    **call_values,
) -> tuple[int, list[int]]:
    """A published call with ``files`` files waiting for the committee (``status``),
    each requesting ``requested`` cents, spread over a few organisations, inserted in
    bulk (as an import would); returns the call and its files' ids, in id order."""
    from app.applications.tables import Application
    from app.calls.tables import FormVersion
    from app.core.bulk import insert_many
    from app.core.db import write_transaction

    call_id = make_call(client, officer, publish=True, **call_values)
    owner = make_user(client)
    orgs = [make_organisation(client, owner, name=f"Asso comité {n}") for n in range(organisations)]

    async def load() -> list[int]:
        version = (
            await FormVersion.select(FormVersion.id).where(FormVersion.call == call_id).first()
        )["id"]
        async with write_transaction():
            await insert_many(
                Application,
                [
                    Application(
                        call=call_id,
                        organisation=orgs[n % organisations],
                        form_version=version,
                        status=status,
                        reference=f"COM{call_id}-{n:05d}",
                        title=f"Projet {n}",
                        requested_cents=requested,
                    )
                    for n in range(files)
                ],
            )
        rows = await Application.select(Application.id).where(Application.call == call_id)
        return sorted(r["id"] for r in rows)

    return call_id, run(client, load)
