"""The committee's sheet, publication, letters and online acceptance, through the app."""

import html
import io
import json

import pypdf
import pytest

from app.applications.tables import Application
from app.core.audit import search as audit_search
from app.decisions import jobs, services
from app.decisions import letters as letter_writing
from app.decisions.tables import Decision, Letter, LetterJob
from app.grants.tables import Grant, Instalment
from tests.factories import (
    emails_to,
    make_call,
    make_decidable,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
    text_of,
    write_letters,
)


@pytest.fixture(scope="module")
def world(client):
    officer = make_user(client, roles=["officer"])
    owner = make_user(client)
    other = make_user(client)
    call = make_call(client, officer, publish=True, envelope_cents=50_000_000)
    org = make_organisation(client, owner, name="Le PoleS Test")
    other_org = make_organisation(client, other, name="Autre Asso")
    return {
        "officer": officer,
        "owner": owner,
        "other": other,
        "call": call,
        "org": org,
        "other_org": other_org,
    }


def plain(text):
    """What a person reads: tags dropped, entities decoded, French spaces as spaces."""
    return html.unescape(text_of(text)).replace("\u202f", " ").replace("\xa0", " ")


def as_officer(client, world):
    sign_out(client)
    client.cookies.clear()
    sign_in(client, world["officer"])


def decide(client, app_id, outcome, amount="", reason="", htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    return post_form(
        client,
        f"/instruction/dossiers/{app_id}/decision",
        {"outcome": outcome, "amount": amount, "reason": reason},
        headers=headers,
    )


def decision_row(client, app_id):
    return run(
        client, lambda: Decision.select().where(Decision.application == app_id).first().run()
    )


def settle(client, world, **values):
    data = {
        "deliberation_reference": "CP 2017-123",
        "deliberation_date": "2017-05-17",
        "signatory_name": "Camille Exemple",
        "signatory_title": "La présidente",
        "schedule_preset": "50-30-20",
        **values,
    }
    return post_form(client, f"/instruction/appels/{world['call']}/decisions/reglages", data)


def run_letters(client, processes=1):
    return write_letters(client, base_url="http://testserver.local", processes=processes)


def pdf_text(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:200]
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    return " ".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("300 000", "au-dessus du montant demandé"),
        ("5 000", "en dessous du minimum"),
        ("0", "supérieur à zéro"),
        ("abc", "Saisissez un montant"),
    ],
)
def test_amount_rules_refuse_with_a_message_and_save_nothing(client, world, amount, message):
    as_officer(client, world)
    app_id = make_decidable(client, world["owner"], world["call"], requested=20_000_000)
    response = decide(client, app_id, "award", amount)
    assert response.status_code == 422
    assert message in plain(response.text)
    assert amount in response.text  # what was typed is kept
    assert decision_row(client, app_id) is None


def test_call_maximum_and_co_financing_cap(client, world):
    as_officer(client, world)
    big = make_decidable(client, world["owner"], world["call"], requested=30_000_000)
    response = decide(client, big, "award", "250 000")
    assert response.status_code == 422
    assert "maximum de l’appel" in plain(response.text) or "maximum de l'appel" in plain(
        response.text
    )
    # 100 000 € requested for a 110 000 € project: 90 % > the 80 % cap.
    capped = make_decidable(
        client, world["owner"], world["call"], requested=10_000_000, cost=11_000_000
    )
    response = decide(client, capped, "award", "100 000")
    assert response.status_code == 422
    assert "cofinancement" in plain(response.text)
    assert decide(client, capped, "award", "88 000").status_code == 303  # exactly 80 %


def test_rejection_needs_a_reason(client, world):
    as_officer(client, world)
    app_id = make_decidable(client, world["owner"], world["call"])
    response = decide(client, app_id, "reject")
    assert response.status_code == 422
    assert "motif" in plain(response.text)
    assert decision_row(client, app_id) is None


def new_call(client, world, **overrides):
    return make_call(client, world["officer"], publish=True, **overrides)


def test_envelope_is_never_exceeded_and_totals_come_back_with_the_row(client, world):
    as_officer(client, world)
    call = new_call(client, world, envelope_cents=25_000_000)
    first = make_decidable(client, world["owner"], call, requested=15_000_000)
    second = make_decidable(client, world["owner"], call, requested=15_000_000)
    response = decide(client, first, "award", "150 000", htmx=True)
    assert response.status_code == 200
    assert f'id="row-{first}"' in response.text
    assert 'id="decision-totals"' in response.text and 'hx-swap-oob="true"' in response.text
    assert "150 000,00" in plain(response.text) and "100 000,00" in plain(response.text)
    response = decide(client, second, "award", "150 000", htmx=True)
    assert response.status_code == 200 and 'aria-invalid="true"' in response.text
    assert "100 000,00" in plain(response.text)  # what is left for this file
    assert decision_row(client, second) is None
    assert decide(client, second, "award", "100 000").status_code == 303


def test_decisions_are_private_until_published(client, world):
    as_officer(client, world)
    call = new_call(client, world)
    app_id = make_decidable(client, world["owner"], call, status="reviewed")
    assert decide(client, app_id, "reject", reason="Hors du champ de l'appel").status_code == 303
    sign_out(client)
    sign_in(client, world["owner"])
    page = plain(client.get(f"/dossiers/{app_id}").text)
    assert "en cours d’évaluation" in page
    assert "Hors du champ" not in page
    assert client.get(f"/dossiers/{app_id}/decision").status_code == 404


def published_world(client, world):
    """A call with an award of 200 000 € (50/30/20) and a rejection, published."""
    as_officer(client, world)
    call = new_call(client, world, envelope_cents=100_000_000, max_award_cents=50_000_000)
    world = {**world, "call": call}
    assert settle(client, world, share_reviews="yes").status_code == 303
    award = make_decidable(client, world["owner"], call, requested=20_000_000)
    reject = make_decidable(client, world["other"], call, requested=5_000_000)
    assert decide(client, award, "award", "200 000").status_code == 303
    reason = "Le budget <font color=red>ne tient pas</font> {{7*7}}"
    assert decide(client, reject, "reject", reason=reason).status_code == 303
    confirm = client.get(f"/instruction/appels/{call}/decisions/publier")
    assert "200 000,00" in plain(confirm.text)
    token = confirm.text.split('name="token" value="')[1].split('"')[0]
    response = post_form(client, f"/instruction/appels/{call}/decisions/publier", {"token": token})
    assert response.status_code == 303
    return {**world, "award": award, "reject": reject, "reason": reason}


def test_publishing_creates_grants_and_letters_once(client, world):
    w = published_world(client, world)
    statuses = run(
        client,
        lambda: (
            Application.select(Application.id, Application.status)
            .where(Application.id.is_in([w["award"], w["reject"]]))
            .run()
        ),
    )
    assert {r["id"]: r["status"] for r in statuses} == {
        w["award"]: "awarded",
        w["reject"]: "rejected",
    }
    grant = run(client, lambda: Grant.select().where(Grant.application == w["award"]).first().run())
    assert grant["amount_cents"] == 20_000_000 and grant["status"] == "awaiting_acceptance"
    parts = run(
        client,
        lambda: (
            Instalment.select(Instalment.amount_cents, Instalment.trigger)
            .where(Instalment.grant == grant["id"])
            .order_by(Instalment.position)
            .run()
        ),
    )
    assert [p["amount_cents"] for p in parts] == [10_000_000, 6_000_000, 4_000_000]
    assert [p["trigger"] for p in parts] == ["acceptance", "interim_report", "final_report"]
    assert run_letters(client) == 1
    assert run_letters(client) == 0  # nothing left: no second letter
    letters = run(
        client,
        lambda: Letter.select().where(Letter.application.is_in([w["award"], w["reject"]])).run(),
    )
    assert sorted(letter["kind"] for letter in letters) == ["award", "rejection"]
    job = run(client, lambda: LetterJob.select().where(LetterJob.call == w["call"]).first().run())
    assert (job["status"], job["done"], job["total"]) == ("done", 2, 2)
    award_letter = next(x for x in letters if x["kind"] == "award")
    text = pdf_text(client, f"/instruction/dossiers/{w['award']}/courriers/{award_letter['id']}")
    assert "200 000,00 €" in text.replace("\u202f", " ").replace("\xa0", " ")
    assert "deux cent mille euros" in text
    assert "zéro" not in text
    assert "CP 2017-123" in text and "17 mai 2017" in text
    # Whatever the name (« Le PoleS », « Les Bâtisseurs… »): never « attribuer à Le ».
    assert "d’attribuer à votre structure," in " ".join(text.split())
    assert "100 000,00" in text.replace("\u202f", " ") and "40 000,00" in text.replace(
        "\u202f", " "
    )
    reject_letter = next(x for x in letters if x["kind"] == "rejection")
    text = pdf_text(client, f"/instruction/dossiers/{w['reject']}/courriers/{reject_letter['id']}")
    assert "<font color=red>ne tient pas</font> {{7*7}}" in text.replace("\n", " ")
    mails = emails_to(client, w["owner"]["email"])
    assert any("subvention" in m["subject"] for m in mails)


def test_the_organisation_downloads_its_letter_and_accepts_online(client, world):
    w = published_world(client, world)
    run_letters(client)
    sign_out(client)
    sign_in(client, w["owner"])
    page = client.get(f"/dossiers/{w['award']}/decision")
    assert page.status_code == 200
    assert "200 000,00" in plain(page.text)
    letter = run(
        client, lambda: Letter.select().where(Letter.application == w["award"]).first().run()
    )
    assert "deux cent mille euros" in pdf_text(
        client, f"/dossiers/{w['award']}/courriers/{letter['id']}"
    )
    # Not the other organisation's letter, nor its page.
    other = run(
        client, lambda: Letter.select().where(Letter.application == w["reject"]).first().run()
    )
    assert client.get(f"/dossiers/{w['reject']}/courriers/{other['id']}").status_code == 404
    assert client.get(f"/dossiers/{w['award']}/courriers/{other['id']}").status_code == 404
    refused = post_form(
        client, f"/dossiers/{w['award']}/acceptation", {"signatory_name": "Alex Exemple"}
    )
    assert refused.status_code == 422
    assert "Alex Exemple" in refused.text
    accepted = post_form(
        client,
        f"/dossiers/{w['award']}/acceptation",
        {"signatory_name": "Alex Exemple", "signatory_capacity": "Président", "conditions": "yes"},
    )
    assert accepted.status_code == 303
    grant = run(client, lambda: Grant.select().where(Grant.application == w["award"]).first().run())
    assert grant["status"] == "active" and grant["accepted_at"] is not None
    assert grant["signatory_name"] == "Alex Exemple" and grant["accepted_ip"]
    due = run(
        client,
        lambda: (
            Instalment.select(Instalment.status)
            .where(Instalment.grant == grant["id"])
            .order_by(Instalment.position)
            .run()
        ),
    )
    assert [d["status"] for d in due] == ["due", "scheduled", "scheduled"]
    entries, _total = run(client, audit_search, object_type="grant", object_id=grant["id"])
    assert "grants.accepted" in {e["action"] for e in entries}
    # The signed agreement (200 000 € is above 23 000 €): a PDF, streamed.
    from tests.factories import MINIMAL_PDF, csrf_token

    not_pdf = client.post(
        f"/dossiers/{w['award']}/convention",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("c.pdf", b"MZ\x90\x00", "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert not_pdf.status_code == 303
    assert (
        run(
            client,
            lambda: Grant.select(Grant.agreement_file).where(Grant.id == grant["id"]).first().run(),
        )["agreement_file"]
        is None
    )
    sent = client.post(
        f"/dossiers/{w['award']}/convention",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("convention.pdf", MINIMAL_PDF, "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303
    # Received, not in force before an officer checks it (grants/test_agreements.py).
    assert client.get(f"/dossiers/{w['award']}/convention").status_code == 404
    from app.core.audit import SYSTEM
    from app.core.storage import FileStorage
    from app.grants import agreements
    from app.grants.tables import Agreement

    uploaded = run(
        client,
        lambda: Agreement.select(Agreement.id).where(Agreement.grant == grant["id"]).first().run(),
    )
    run(
        client,
        agreements.check_upload,
        grant["id"],
        uploaded["id"],
        accept=True,
        reason="",
        files=FileStorage.of_app(client.app),
        actor=SYSTEM,
    )
    assert client.get(f"/dossiers/{w['award']}/convention").content == MINIMAL_PDF
    # Received once: the organisation cannot swap it afterwards.
    swap = client.post(
        f"/dossiers/{w['award']}/convention",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("autre.pdf", MINIMAL_PDF + b"%autre", "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert swap.status_code == 303
    assert client.get(f"/dossiers/{w['award']}/convention").content == MINIMAL_PDF
    sign_out(client)
    sign_in(client, w["other"])
    assert client.get(f"/dossiers/{w['award']}/convention").status_code == 404
    sign_out(client)
    sign_in(client, w["owner"])
    again = post_form(
        client,
        f"/dossiers/{w['award']}/acceptation",
        {"signatory_name": "X", "signatory_capacity": "Y", "conditions": "yes"},
    )
    assert again.status_code == 422


def test_publication_is_all_or_nothing(client, world):
    as_officer(client, world)
    call = new_call(client, world)
    w = {**world, "call": call}
    settle(client, w)
    good = make_decidable(client, world["owner"], call)
    gone = make_decidable(client, world["owner"], call)
    decide(client, good, "award", "")
    decide(client, gone, "reject", reason="Incomplet")
    # The applicant withdraws one file after the committee met.
    run(
        client,
        lambda: (
            Application.update({Application.status: "withdrawn"})
            .where(Application.id == gone)
            .run()
        ),
    )
    confirm = client.get(f"/instruction/appels/{call}/decisions/publier")
    token = confirm.text.split('name="token" value="')[1].split('"')[0]
    response = post_form(client, f"/instruction/appels/{call}/decisions/publier", {"token": token})
    assert response.status_code == 422
    assert "Rien n’a été publié" in plain(response.text)
    assert (
        run(
            client,
            lambda: (
                Decision.count()
                .where((Decision.call == call) & Decision.published_at.is_not_null())
                .run()
            ),
        )
        == 0
    )
    assert run(client, lambda: Grant.count().where(Grant.call == call).run()) == 0
    assert run(client, lambda: LetterJob.count().where(LetterJob.call == call).run()) == 0
    status = run(
        client,
        lambda: Application.select(Application.status).where(Application.id == good).first().run(),
    )
    assert status["status"] == "eligible"


def test_a_stale_confirmation_publishes_nothing(client, world):
    as_officer(client, world)
    call = new_call(client, world)
    settle(client, {**world, "call": call})
    first = make_decidable(client, world["owner"], call)
    decide(client, first, "award", "")
    confirm = client.get(f"/instruction/appels/{call}/decisions/publier")
    token = confirm.text.split('name="token" value="')[1].split('"')[0]
    second = make_decidable(client, world["owner"], call)
    decide(client, second, "waitlist")
    response = post_form(client, f"/instruction/appels/{call}/decisions/publier", {"token": token})
    assert response.status_code == 422
    assert run(client, lambda: Grant.count().where(Grant.call == call).run()) == 0


def test_publishing_needs_the_deliberation(client, world):
    as_officer(client, world)
    call = new_call(client, world)
    app_id = make_decidable(client, world["owner"], call)
    decide(client, app_id, "award", "")
    confirm = client.get(f"/instruction/appels/{call}/decisions/publier")
    token = confirm.text.split('name="token" value="')[1].split('"')[0]
    response = post_form(client, f"/instruction/appels/{call}/decisions/publier", {"token": token})
    assert response.status_code == 422
    assert "délibération" in plain(response.text)


def test_a_crashed_batch_resumes_without_duplicates(client, world):
    w = published_world(client, world)
    job = run(client, lambda: LetterJob.select().where(LetterJob.call == w["call"]).first().run())
    # A worker claimed the batch, wrote one letter and died (its heartbeat is old).
    from datetime import UTC, datetime, timedelta

    from app.core.storage import FileStorage

    async def partial():
        facts = await letter_writing.letter_facts([w["award"]])
        settings = await services.settings_for(w["call"])
        content = letter_writing.compose(
            facts[0],
            settings,
            base_url="",
            data_dir=client.app.state.settings.data_dir,
            today=datetime.now(UTC),
        )
        await jobs._store(
            job["id"],
            [(facts[0], content, letter_writing.render_letter(content))],
            storage=FileStorage.from_settings(client.app.state.settings),
            base_url="",
            actor=jobs.Actor(user_id=None),
        )
        await LetterJob.update(
            {
                LetterJob.status: "running",
                LetterJob.heartbeat_at: datetime.now(UTC) - timedelta(minutes=5),
            }
        ).where(LetterJob.id == job["id"])

    run(client, partial)
    assert run_letters(client, processes=2) == 1
    letters = run(
        client, lambda: Letter.select(Letter.application).where(Letter.job == job["id"]).run()
    )
    assert sorted(x["application"] for x in letters) == sorted([w["award"], w["reject"]])
    final = run(client, lambda: LetterJob.select().where(LetterJob.id == job["id"]).first().run())
    assert (final["status"], final["done"]) == ("done", 2)


def test_regenerating_keeps_the_earlier_version(client, world):
    w = published_world(client, world)
    run_letters(client)
    response = post_form(client, f"/instruction/dossiers/{w['award']}/courriers")
    assert response.status_code == 303
    versions = run(
        client,
        lambda: (
            Letter.select(Letter.version, Letter.sha256)
            .where(Letter.application == w["award"])
            .order_by(Letter.version)
            .run()
        ),
    )
    assert [v["version"] for v in versions] == [1, 2]
    page = client.get(f"/instruction/dossiers/{w['award']}/decision")
    assert "version 2" in page.text and "version 1" in page.text
    # The decision reads as the state it gives the file, not as the verb of the choice.
    assert "subvention accordée —" in page.text and "attribuer —" not in page.text


def test_a_template_with_an_unknown_placeholder_is_not_saved(client, world):
    as_officer(client, world)
    call = new_call(client, world)
    path = f"/instruction/appels/{call}/decisions/courriers"
    page = client.get(path)
    assert "{montant_en_lettres}" in page.text
    for bad in (
        "Bonjour {organisme}",
        "Bonjour {organisation.__class__}",
        "Montant {montant",
        "{montant!r}",
    ):
        response = post_form(
            client, path, {"award_template": bad, "rejection_template": "Non. {motif}"}
        )
        assert response.status_code == 422, bad
        assert (
            bad in response.text.replace("&#39;", "'").replace("&amp;", "&")
            or bad.replace("'", "&#39;") in response.text
        )
    from app.decisions.services import settings_for

    saved = run(client, settings_for, call)
    assert "{organisme}" not in saved.award_template
    good = (
        "Bonjour {organisation},\n\nVous recevez {montant} ({montant_en_lettres}).\n\nCordialement."
    )
    assert (
        post_form(
            client, path, {"award_template": good, "rejection_template": "Non : {motif}"}
        ).status_code
        == 303
    )
    assert run(client, settings_for, call).award_template == good.strip()
    preview = post_form(
        client,
        path + "/apercu",
        {"award_template": good, "rejection_template": "x", "kind": "award"},
    )
    assert preview.status_code == 200 and preview.content.startswith(b"%PDF")
    bad_preview = post_form(client, path + "/apercu", {"award_template": "{nope}", "kind": "award"})
    assert bad_preview.status_code == 422


def test_a_custom_schedule_on_one_award(client, world):
    as_officer(client, world)
    call = new_call(client, world)
    app_id = make_decidable(client, world["owner"], call, requested=10_000_001)
    decide(client, app_id, "award", "")
    path = f"/instruction/dossiers/{app_id}/decision/echeancier"
    bad = post_form(
        client,
        path,
        {
            "schedule_preset": "custom",
            "schedule_mode": "percent",
            "schedule_value_1": "60",
            "schedule_trigger_1": "acceptance",
            "schedule_value_2": "30",
            "schedule_trigger_2": "final_report",
        },
    )
    assert bad.status_code == 422 and "100" in plain(bad.text)
    good = post_form(
        client,
        path,
        {
            "schedule_preset": "custom",
            "schedule_mode": "percent",
            "schedule_value_1": "33,33",
            "schedule_trigger_1": "acceptance",
            "schedule_value_2": "33,33",
            "schedule_trigger_2": "date",
            "schedule_date_2": "2027-06-30",
            "schedule_value_3": "33,34",
            "schedule_trigger_3": "final_report",
        },
    )
    assert good.status_code == 303
    page = client.get(f"/instruction/dossiers/{app_id}/decision")
    text = plain(page.text)
    # 100 000,01 € in three parts adding up exactly; the remainder goes last.
    assert "33 330,00" in text and "33 340,01" in text
    saved = decision_row(client, app_id)
    schedule = (
        json.loads(saved["schedule"]) if isinstance(saved["schedule"], str) else saved["schedule"]
    )
    assert schedule["items"][1]["date"] == "2027-06-30"
