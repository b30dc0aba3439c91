"""An association's journey: eligibility, draft, budget, documents, submission with
its receipt, deadline; and the staff's table."""

import io
import json
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from app.applications.tables import Application, Attachment
from app.calls import services as calls
from app.calls.tables import Call
from app.core.money import format_amount
from tests.factories import (
    DECLARATION,
    MINIMAL_PDF,
    csrf_token,
    emails_to,
    make_application,
    make_call,
    make_organisation,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
    text_of,
)


def call_of(client, call_id):
    return run(client, calls.get_call, call_id)


def field_key(client, call_id):
    return call_of(client, call_id)["form"]["sections"][0]["fields"][0]["key"]


def draft_of(client, app_id):
    row = run(client, lambda: Application.select().where(Application.id == app_id).first().run())
    row["answers"] = (
        json.loads(row["answers"]) if isinstance(row["answers"], str) else row["answers"]
    )
    return row


BALANCED = {
    "title": "École du web",
    "requested": "200 000",
    "budget_charges_64": "180 000",
    "budget_charges_60": "70 000",
    "budget_produits_74_etat": "50 000",
}


def test_a_blocking_eligibility_answer_creates_nothing(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer)
    run(
        client,
        calls.add_eligibility_question,
        call_id,
        {
            "label": "Existe depuis un an ?",
            "blocking": "no",
            "explanation": "Réservé aux structures d’un an.",
        },
        actor=calls.Actor(user_id=officer["id"]),
    )
    run(client, calls.transition, call_id, "publish", actor=calls.Actor(user_id=officer["id"]))
    key = call_of(client, call_id)["eligibility"][0]["key"]
    sign_in(client, owner)
    # Nothing answered: the summary follows the form's order and names the question.
    empty = post_form(client, f"/appels/{call_id}/candidater", {})
    summary = text_of(empty.text.split('class="error-summary"')[1].split("</div>")[0])
    assert summary.index("Choisissez") < summary.index("Existe depuis un an ? : Répondez")
    response = post_form(
        client, f"/appels/{call_id}/candidater", {"organisation": str(org), key: "no"}
    )
    assert response.status_code == 422
    assert "Réservé aux structures d’un an." in response.text
    assert run(client, lambda: Application.count().where(Application.call == call_id).run()) == 0
    ok = post_form(client, f"/appels/{call_id}/candidater", {"organisation": str(org), key: "yes"})
    assert ok.status_code == 303 and ok.headers["location"].startswith("/dossiers/")
    sign_out(client)


def test_the_journey_to_a_submitted_file_with_its_receipt(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner, name="Le PoleS test")
    call_id = make_call(client, officer, publish=True, max_award_cents=30_000_000)
    app_id = make_application(client, owner, org, call_id)
    sign_in(client, owner)
    # A document's « Send » button saves the answers with it: said where documents are.
    assert "enregistre aussi vos réponses" in client.get(f"/dossiers/{app_id}").text

    # Nothing filled: the summary lists each missing part with a link to it.
    summary = client.get(f"/dossiers/{app_id}/deposer")
    assert "Donnez un titre à votre projet." in summary.text
    assert "Répondez à « Description »." in summary.text
    assert "Joignez « Statuts »." in summary.text
    assert "Indiquez le montant demandé." in summary.text

    # The plain « Enregistrer » button (no JavaScript).
    key = field_key(client, call_id)
    version = draft_of(client, app_id)["version"]
    saved = post_form(
        client,
        f"/dossiers/{app_id}",
        {**BALANCED, key: "Former des développeurs web.", "version": str(version)},
    )
    assert saved.status_code == 303
    row = draft_of(client, app_id)
    assert (
        row["requested_cents"] == 20_000_000
        and row["answers"][key] == "Former des développeurs web."
    )
    page = client.get(f"/dossiers/{app_id}").text
    assert 'value="200 000,00"' in page  # shown back the French way
    assert format_amount(25_000_000, "fr_FR") in page  # totals

    # Upload the required document (streamed, CSRF as the first field).
    document = call_of(client, call_id)["documents"][0]["key"]
    uploaded = client.post(
        f"/dossiers/{app_id}/pieces/{document}",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("file", ("statuts.pdf", MINIMAL_PDF, "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text

    done = post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION)
    assert done.status_code == 303, done.text
    row = draft_of(client, app_id)
    assert row["status"] == "submitted"
    prefix = call_of(client, call_id)["reference_prefix"]
    assert row["reference"] == f"{prefix}-0001"
    assert len(row["content_sha256"]) == 64

    receipt = client.get(f"/dossiers/{app_id}/accuse-de-reception.pdf")
    assert receipt.status_code == 200 and receipt.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.content)).pages)
    assert "Accusé de réception" in text
    assert row["reference"] in text and row["content_sha256"] in text.replace("\n", "")
    assert "200\u202f000,00" in text and "Le PoleS test" in text

    # The receipt is written just after the submission commits; if the server stopped
    # in between, the first request for it writes it (once, from the submitted content).
    run(
        client,
        lambda: (
            Application.update({Application.receipt_file: None})
            .where(Application.id == app_id)
            .run()
        ),
    )
    again = client.get(f"/dossiers/{app_id}/accuse-de-reception.pdf")
    assert again.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(again.content)).pages)
    assert row["reference"] in text and row["content_sha256"] in text.replace("\n", "")
    stored = draft_of(client, app_id)["receipt_file"]
    assert stored and client.get(f"/dossiers/{app_id}/accuse-de-reception.pdf").content == (
        again.content
    )
    assert draft_of(client, app_id)["receipt_file"] == stored

    (message,) = [
        m for m in emails_to(client, owner["email"]) if m["template"] == "application_submitted"
    ]
    assert row["reference"] in message["subject"]
    receipt_url = f"{client.app.state.settings.base_url}/dossiers/{app_id}/accuse-de-reception.pdf"
    assert receipt_url in message["body_text"] and f'href="{receipt_url}"' in message["body_html"]

    # Submitted: read-only.
    assert (
        post_form(
            client, f"/dossiers/{app_id}", {**BALANCED, "version": str(row["version"])}
        ).status_code
        == 422
    )
    sign_out(client)


def test_autosaves_are_limited_per_person_and_say_so(client):
    """A flood of autosaves meets « not saved yet » (429) before any query; the plain
    « Save » button still saves."""
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, make_organisation(client, owner), call_id)
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    statuses = []
    for n in range(12):
        answer = post_form(
            client,
            f"/dossiers/{app_id}/enregistrer",
            {"title": f"Titre {n}", "version": str(version)},
            headers={"HX-Request": "true"},
        )
        statuses.append(answer.status_code)
        if answer.status_code == 200:
            version += 1
    assert statuses.count(200) == 10 and statuses[10:] == [429, 429], statuses
    assert "Pas encore enregistré" in answer.text and "Enregistrer" in answer.text
    assert draft_of(client, app_id)["title"] == "Titre 9"
    saved = post_form(
        client, f"/dossiers/{app_id}", {"title": "Titre final", "version": str(version)}
    )
    assert saved.status_code == 303
    assert draft_of(client, app_id)["title"] == "Titre final"
    client.app.state.rate_limiter._counts.clear()
    sign_out(client)


def test_a_stale_save_is_refused_and_shows_the_other_version(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    key = field_key(client, call_id)
    start = draft_of(client, app_id)["version"]
    sign_in(client, owner)
    first = post_form(
        client,
        f"/dossiers/{app_id}/enregistrer",
        {"title": "Version A", key: "Texte A", "version": str(start)},
    )
    assert first.status_code == 200 and "Enregistré à" in first.text
    assert f'value="{start + 1}"' in first.text and 'hx-swap-oob="true"' in first.text
    stale = post_form(
        client,
        f"/dossiers/{app_id}/enregistrer",
        {"title": "Version B", key: "Texte B", "version": str(start)},
    )
    assert stale.status_code == 409 and "Non enregistré" in stale.text
    assert draft_of(client, app_id)["title"] == "Version A"
    page = post_form(
        client, f"/dossiers/{app_id}", {"title": "Version B", key: "Texte B", "version": str(start)}
    )
    assert page.status_code == 409
    assert 'value="Version B"' in page.text  # what was typed is kept
    assert "Texte A" in page.text  # the other version is shown
    sign_out(client)


def test_bad_amounts_are_refused_field_by_field_and_the_rest_is_saved(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    version = draft_of(client, app_id)["version"]
    sign_in(client, owner)
    response = post_form(
        client,
        f"/dossiers/{app_id}",
        {
            "title": "Titre gardé",
            "requested": "12,345",
            "budget_charges_60": "abc",
            "budget_charges_61": "1 000",
            "version": str(version),
        },
    )
    assert response.status_code == 422
    assert "Milliers ou décimales" in response.text and "Indiquez un montant" in response.text
    assert 'value="abc"' in response.text  # shown as typed, to correct
    # The error summary names each field (the same message twice would not say which).
    summary = text_of(response.text.split('class="error-summary"')[1].split("</div>")[0])
    assert "Montant demandé : " in summary and "60 – Achats : Indiquez un montant" in summary
    assert "sauf les réponses à corriger" in response.text
    # What was right is saved; the wrong lines keep what was stored (nothing).
    saved = draft_of(client, app_id)
    budget = json.loads(saved["budget"]) if isinstance(saved["budget"], str) else saved["budget"]
    assert saved["version"] == version + 1 and saved["title"] == "Titre gardé"
    assert budget["charges"] == {"61": 100_000} and saved["requested_cents"] == 0
    # The page carries the new version: the corrected form saves without a conflict.
    assert f'id="draft-version" value="{version + 1}"' in response.text
    fixed = post_form(
        client,
        f"/dossiers/{app_id}",
        {
            "title": "Titre gardé",
            "requested": "12 345",
            "budget_charges_60": "2 000",
            "budget_charges_61": "1 000",
            "version": str(version + 1),
        },
    )
    assert fixed.status_code == 303
    assert draft_of(client, app_id)["requested_cents"] == 1_234_500
    # Autosave alike: the right answers saved, the count of those to correct, the new
    # version for the next autosave.
    partly = client.post(
        f"/dossiers/{app_id}/enregistrer",
        data={
            "title": "Titre autosauvé",
            "requested": "douze",
            "version": str(version + 2),
            "_csrf_token": csrf_token(client),
        },
        headers={"HX-Request": "true"},
    )
    assert partly.status_code == 422
    assert "sauf 1 réponse à corriger" in partly.text
    assert f'value="{version + 3}" hx-swap-oob="true"' in partly.text
    saved = draft_of(client, app_id)
    assert saved["title"] == "Titre autosauvé" and saved["requested_cents"] == 1_234_500
    sign_out(client)


def test_budget_rules_block_submission(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True, max_rate_bp=5000)
    app_id = make_application(client, owner, org, call_id)
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    post_form(
        client,
        f"/dossiers/{app_id}",
        {
            "title": "T",
            "requested": "100 000",
            "budget_charges_60": "150 000",
            "budget_charges_86": "10 000",
            "version": str(version),
        },
    )
    summary = client.get(f"/dossiers/{app_id}/deposer").text
    assert "n’est pas équilibré" in summary
    assert "contributions en nature (86 et 87)" in summary
    assert "part maximale" in summary  # 100 000 of 150 000 > 50 %
    version = draft_of(client, app_id)["version"]
    post_form(
        client, f"/dossiers/{app_id}", {"title": "T", "requested": "5 000", "version": str(version)}
    )
    summary = text_of(client.get(f"/dossiers/{app_id}/deposer").text).replace("\u202f", " ")
    assert "inférieur au minimum de l’appel, 10 000,00 €." in summary  # the minimum is said
    sign_out(client)


def test_disguised_executable_and_oversized_files_are_refused_and_leave_nothing(client, settings):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    document = call_of(client, call_id)["documents"][0]["key"]
    files_dir = settings.data_dir / "files"
    before = sorted(p for p in files_dir.rglob("*") if p.is_file()) if files_dir.exists() else []
    sign_in(client, owner)

    def send(name, content):
        sent = client.post(
            f"/dossiers/{app_id}/pieces/{document}",
            files=[
                ("_csrf_token", (None, csrf_token(client))),
                ("file", (name, content, "application/pdf")),
            ],
            follow_redirects=False,
        )
        # Refused or not, back to the file's page (reloading it is no 404), said there.
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/dossiers/{app_id}#document-{document}"
        return client.get(sent.headers["location"])

    exe = send("programme.pdf", b"MZ\x90\x00" + b"\x00" * 2000)
    assert "programme" in exe.text
    # Said at the top of the page, linked to the document's file input.
    summary = exe.text.split('id="upload-error-title"')[1].split("</div>")[0]
    assert "La pièce n’est pas jointe" in summary and f'href="#file-{document}"' in summary
    # The document allows 1 MB; Content-Length says this one is 2 MB: refused unread.
    big = send("gros.pdf", b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024 - 9))
    assert "Ce fichier pèse 2 Mo ; la limite pour ce document est de 1 Mo." in text_of(
        big.text
    ).replace("\u202f", " ").replace("\u00a0", " ")
    after = sorted(p for p in files_dir.rglob("*") if p.is_file()) if files_dir.exists() else []
    assert after == before
    assert (
        run(client, lambda: Attachment.count().where(Attachment.application == app_id).run()) == 0
    )
    sign_out(client)


def test_after_the_deadline_submission_is_refused_and_the_draft_kept(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    run(
        client,
        lambda: (
            Call.update({Call.closes_at: datetime.now(UTC) - timedelta(seconds=1)})
            .where(Call.id == call_id)
            .run()
        ),
    )
    sign_in(client, owner)
    response = post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION)
    assert response.status_code == 422
    assert "date limite est passée" in response.text
    assert draft_of(client, app_id)["status"] == "draft"
    assert "ne peut plus être modifié" in client.get(f"/dossiers/{app_id}").text
    sign_out(client)


def test_staff_table_filters_and_exports(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    ids = []
    for i in range(3):
        org = make_organisation(client, owner, name=f"Association {i} filtre")
        ids.append(make_application(client, owner, org, call_id))
    run(
        client,
        lambda: (
            Application.update({Application.requested_cents: 5_000_000})
            .where(Application.id == ids[0])
            .run()
        ),
    )
    sign_in(client, officer)
    table = client.get(f"/instruction/appels/{call_id}/dossiers")
    assert "3 dossiers" in table.text
    filtered = client.get(f"/instruction/appels/{call_id}/dossiers", params={"min": "40 000"})
    assert "1 dossier" in filtered.text and "Association 0 filtre" in filtered.text
    partial = client.get(
        f"/instruction/appels/{call_id}/dossiers",
        params={"q": "Association 1"},
        headers={"hx-request": "true"},
    )
    assert (
        "<html" not in partial.text
        and "Association 1 filtre" in partial.text
        and "Association 2 filtre" not in partial.text
    )
    export = client.get(f"/instruction/appels/{call_id}/dossiers/export.csv")
    lines = export.text.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("Numéro de dossier;Structure;SIRET") and len(lines) == 4
    assert any(";50000,00;" in line for line in lines)
    bad = client.get(f"/instruction/appels/{call_id}/dossiers", params={"min": "abc"})
    assert "Indiquez un montant" in bad.text
    sign_out(client)


def test_other_organisations_cannot_reach_a_file_or_its_documents(client):
    officer, owner, stranger = (
        make_user(client, roles=["officer"]),
        make_user(client),
        make_user(client),
    )
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    from tests.factories import attach_pdf

    document = call_of(client, call_id)["documents"][0]["key"]
    attachment = attach_pdf(client, owner, app_id, document)
    sign_in(client, stranger)
    assert client.get(f"/dossiers/{app_id}").status_code == 404
    assert client.get(f"/dossiers/{app_id}/pieces/{attachment}").status_code == 404
    sign_out(client)
    sign_in(client, owner)
    download = client.get(f"/dossiers/{app_id}/pieces/{attachment}")
    assert download.status_code == 200 and download.content == MINIMAL_PDF
    assert download.headers["content-disposition"].startswith("attachment")
    sign_out(client)


def test_withdraw_and_send_back_to_complete(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    run(
        client,
        lambda: (
            Application.update({Application.status: "submitted", Application.reference: "X-1"})
            .where(Application.id == app_id)
            .run()
        ),
    )
    sign_in(client, officer)
    later = (
        (datetime.now(UTC) + timedelta(days=10)).astimezone(calls.PARIS).strftime("%Y-%m-%dT%H:%M")
    )
    assert (
        post_form(
            client,
            f"/instruction/dossiers/{app_id}/a-completer",
            {"message": "", "complete_by": later},
        ).status_code
        == 422
    )
    sent = post_form(
        client,
        f"/instruction/dossiers/{app_id}/a-completer",
        {"message": "Le RIB manque.", "complete_by": later},
    )
    assert sent.status_code == 303
    # The history reads in words, not audit codes.
    history = client.get(f"/instruction/dossiers/{app_id}").text.split('id="history-title"')[1]
    assert "Renvoyé au porteur de projet pour être complété" in history
    # The officer reads what was asked and by when.
    top = client.get(f"/instruction/dossiers/{app_id}").text.split('id="history-title"')[0]
    assert "Le RIB manque." in top and "À compléter avant le" in top
    assert "applications.sent_back" not in history
    sign_out(client)
    assert draft_of(client, app_id)["status"] == "to_complete"
    assert any(
        m["template"] == "application_to_complete" for m in emails_to(client, owner["email"])
    )
    sign_in(client, owner)
    assert "Le RIB manque." in client.get(f"/dossiers/{app_id}").text
    # Withdrawing is final: the file's page links to a confirmation first; a POST
    # without the confirmation withdraws nothing.
    assert f'href="/dossiers/{app_id}/retirer"' in client.get(f"/dossiers/{app_id}").text
    unconfirmed = post_form(client, f"/dossiers/{app_id}/retirer")
    assert unconfirmed.headers["location"] == f"/dossiers/{app_id}/retirer"
    assert draft_of(client, app_id)["status"] == "to_complete"
    page = client.get(f"/dossiers/{app_id}/retirer").text
    assert "ne peut pas être annulé" in page and "Non, le garder" in page
    confirmed = post_form(client, f"/dossiers/{app_id}/retirer", {"confirm": "yes"})
    assert confirmed.status_code == 303
    assert draft_of(client, app_id)["status"] == "withdrawn"
    assert "ne peut plus être retiré" in client.get(f"/dossiers/{app_id}/retirer").text
    sign_out(client)


def test_message_thread_with_a_file_between_the_organisation_and_the_staff(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    sign_in(client, owner)
    sent = client.post(
        f"/dossiers/{app_id}/messages",
        files=[
            ("_csrf_token", (None, csrf_token(client))),
            ("body", (None, "Faut-il le RIB <b>signé</b> ?")),
            ("file", ("rib.pdf", MINIMAL_PDF, "application/pdf")),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert any(m["template"] == "application_message" for m in emails_to(client, officer["email"]))
    empty = client.post(
        f"/dossiers/{app_id}/messages",
        files=[("_csrf_token", (None, csrf_token(client))), ("body", (None, "  "))],
        follow_redirects=True,
    )
    assert "Écrivez un message" in empty.text
    sign_out(client)
    sign_in(client, officer)
    page = client.get(f"/instruction/dossiers/{app_id}").text
    assert "Faut-il le RIB &lt;b&gt;signé&lt;/b&gt; ?" in page and "rib.pdf" in page
    client.post(
        f"/dossiers/{app_id}/messages",
        files=[("_csrf_token", (None, csrf_token(client))), ("body", (None, "Oui, signé."))],
        follow_redirects=False,
    )
    sign_out(client)
    assert any(m["template"] == "application_message" for m in emails_to(client, owner["email"]))
    sign_in(client, owner)
    assert "Oui, signé." in client.get(f"/dossiers/{app_id}").text
    sign_out(client)


def test_excel_export_holds_amounts_as_numbers(client):
    from openpyxl import load_workbook

    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner, name='=HYPERLINK("x")')
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    run(
        client,
        lambda: (
            Application.update({Application.requested_cents: 20_000_050})
            .where(Application.id == app_id)
            .run()
        ),
    )
    sign_in(client, officer)
    response = client.get(f"/instruction/appels/{call_id}/dossiers/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][0] == "Numéro de dossier" and rows[1][6] == 200000.5
    assert "€" in sheet.cell(2, 7).number_format
    assert (
        rows[1][1] == '\'=HYPERLINK("x")' and sheet.cell(2, 2).data_type == "s"
    )  # text, not a formula
    sign_out(client)


HOSTILE = [
    '<script>alert("x")</script>',
    "{{7*7}}",
    "'; DROP TABLE application; --",
    '<font color="red">x</font>',
    "é\u202f\u00a0\u200b\U0001f600",
]


def test_hostile_text_is_stored_and_shown_inertly(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True)
    app_id = make_application(client, owner, org, call_id)
    key = field_key(client, call_id)
    sign_in(client, owner)
    for text in HOSTILE:
        version = draft_of(client, app_id)["version"]
        assert (
            post_form(
                client, f"/dossiers/{app_id}", {"title": text, key: text, "version": str(version)}
            ).status_code
            == 303
        )
        assert draft_of(client, app_id)["title"] == text
        page = client.get(f"/dossiers/{app_id}").text
        assert "<script>alert" not in page and '<font color="red">' not in page
        if text == "{{7*7}}":
            assert 'value="{{7*7}}"' in page  # shown as typed, never evaluated
    sign_out(client)
    sign_in(client, officer)
    for text in HOSTILE:
        response = client.get(f"/instruction/appels/{call_id}/dossiers", params={"q": text})
        assert response.status_code == 200
        assert "<script>alert" not in response.text
    sign_out(client)


def test_a_file_sent_back_is_completed_and_resubmitted(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True, max_award_cents=30_000_000)
    app_id = make_application(client, owner, org, call_id)
    key = field_key(client, call_id)
    from tests.factories import attach_pdf

    document = call_of(client, call_id)["documents"][0]["key"]
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    post_form(client, f"/dossiers/{app_id}", {**BALANCED, key: "Projet.", "version": str(version)})
    attach_pdf(client, owner, app_id, document)
    assert post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION).status_code == 303
    reference = draft_of(client, app_id)["reference"]
    sign_out(client)
    sign_in(client, officer)
    later = (
        (datetime.now(UTC) + timedelta(days=10)).astimezone(calls.PARIS).strftime("%Y-%m-%dT%H:%M")
    )
    post_form(
        client,
        f"/instruction/dossiers/{app_id}/a-completer",
        {"message": "Précisez le public.", "complete_by": later},
    )
    sign_out(client)
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    assert (
        post_form(
            client,
            f"/dossiers/{app_id}",
            {**BALANCED, key: "Projet pour 12 jeunes.", "version": str(version)},
        ).status_code
        == 303
    )
    assert post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION).status_code == 303
    row = draft_of(client, app_id)
    assert row["status"] == "submitted" and row["reference"] == reference  # same number
    sign_out(client)


def test_screening_one_by_one_and_in_bulk(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    ids = []
    for _ in range(3):
        app_id = make_application(client, owner, make_organisation(client, owner), call_id)
        run(
            client,
            lambda a=app_id: (
                Application.update(
                    {Application.status: "submitted", Application.reference: f"S-{a}"}
                )
                .where(Application.id == a)
                .run()
            ),
        )
        ids.append(app_id)
    draft = make_application(client, owner, make_organisation(client, owner), call_id)
    sign_in(client, officer)
    missing = post_form(
        client,
        f"/instruction/dossiers/{ids[0]}/recevabilite",
        {"decision": "ineligible", "reason": " "},
    )
    assert missing.status_code == 422 and "Indiquez la raison" in missing.text
    done = post_form(
        client,
        f"/instruction/dossiers/{ids[0]}/recevabilite",
        {"decision": "ineligible", "reason": "Statuts non signés."},
    )
    assert done.status_code == 303
    assert draft_of(client, ids[0])["status"] == "ineligible"
    (mail,) = [
        m for m in emails_to(client, owner["email"]) if m["template"] == "application_ineligible"
    ]
    assert "Statuts non signés." in mail["body_text"]
    # Bulk: all or none — the draft in the batch stops everything.
    refused = client.post(
        f"/instruction/appels/{call_id}/dossiers/recevabilite",
        data={
            "_csrf_token": csrf_token(client),
            "decision": "eligible",
            "ids": [str(ids[1]), str(draft)],
        },
        follow_redirects=True,
    )
    assert "ne sont pas en attente de recevabilité" in refused.text
    assert draft_of(client, ids[1])["status"] == "submitted"
    # Refused: shown again as typed — the ticks, the decision, the reason, the filters.
    typed = client.post(
        f"/instruction/appels/{call_id}/dossiers/recevabilite?status=submitted",
        data={
            "_csrf_token": csrf_token(client),
            "decision": "ineligible",
            "reason": "",
            "ids": [str(ids[1]), str(ids[2])],
        },
    )
    assert typed.status_code == 422 and "error-summary" in typed.text
    assert f'value="{ids[1]}" id="select-{ids[1]}" form="bulk" checked' in typed.text
    assert '<option value="ineligible" selected' in typed.text
    assert 'recevabilite?status=submitted"' in typed.text  # the filters stay
    ok = client.post(
        f"/instruction/appels/{call_id}/dossiers/recevabilite?status=submitted",
        data={
            "_csrf_token": csrf_token(client),
            "decision": "eligible",
            "ids": [str(ids[1]), str(ids[2])],
        },
        follow_redirects=False,
    )
    assert ok.headers["location"].endswith("/dossiers?status=submitted")
    assert "2 dossiers déclarés recevables." in client.get(ok.headers["location"]).text
    assert {draft_of(client, i)["status"] for i in ids[1:]} == {"eligible"}
    sign_out(client)
    sign_in(client, owner)
    assert "Statuts non signés." in client.get(f"/dossiers/{ids[0]}").text
    sign_out(client)


def test_screening_select_all_and_none_on_the_rows_shown(client):
    """Without JavaScript « select all » is a submit button of the bulk form: the page
    comes back with every row shown ticked (the filters and what was typed kept), and
    nothing is screened."""
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True)
    ids = []
    for status in ("submitted", "submitted", "eligible"):
        app_id = make_application(client, owner, make_organisation(client, owner), call_id)
        run(
            client,
            lambda a=app_id, s=status: (
                Application.update({Application.status: s, Application.reference: f"T-{a}"})
                .where(Application.id == a)
                .run()
            ),
        )
        ids.append(app_id)
    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}/dossiers").text
    assert 'name="select" value="all"' in page and 'data-select="all"' in page
    shown = client.post(
        f"/instruction/appels/{call_id}/dossiers/recevabilite?status=submitted",
        data={
            "_csrf_token": csrf_token(client),
            "select": "all",
            "decision": "ineligible",
            "reason": "Gardé",
        },
    )
    assert shown.status_code == 200
    for app_id in ids[:2]:
        assert f'value="{app_id}" id="select-{app_id}" form="bulk" checked' in shown.text
    assert f'id="select-{ids[2]}"' not in shown.text  # not shown: not ticked
    assert '<option value="ineligible" selected' in shown.text and 'value="Gardé"' in shown.text
    assert 'recevabilite?status=submitted"' in shown.text
    none = client.post(
        f"/instruction/appels/{call_id}/dossiers/recevabilite",
        data={"_csrf_token": csrf_token(client), "select": "none", "ids": [str(ids[0])]},
    )
    assert none.status_code == 200 and 'form="bulk" checked' not in none.text
    assert {draft_of(client, i)["status"] for i in ids[:2]} == {"submitted"}
    sign_out(client)


def test_calls_sharing_a_reference_prefix_number_their_files_in_one_sequence(client):
    """A prefix typed again (or a call duplicated twice): references stay unique, in
    one sequence for the prefix, instead of a 500 on the second call's first file."""
    import json

    from app.accounts.services import Actor, load_current_user
    from app.applications import services
    from app.applications.receipts import Receipts
    from tests.factories import attach_pdf

    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    first, second = (
        make_call(client, officer, publish=True, reference_prefix="PARTAGE-2026") for _ in "12"
    )
    user = run(client, load_current_user, owner["id"])
    references = []
    for call_id in (first, second, first):
        app_id = make_application(client, owner, make_organisation(client, owner), call_id)
        key = field_key(client, call_id)
        run(
            client,
            lambda app_id=app_id, key=key: (
                Application.update(
                    {
                        Application.title: "Projet",
                        Application.requested_cents: 10_000_000,
                        Application.answers: json.dumps({key: "Texte"}),
                        Application.budget: json.dumps(
                            {"charges": {"64": 20_000_000}, "produits": {"74_etat": 10_000_000}}
                        ),
                    }
                )
                .where(Application.id == app_id)
                .run()
            ),
        )
        attach_pdf(client, owner, app_id, call_of(client, call_id)["documents"][0]["key"])
        submitted = run(
            client,
            services.submit,
            app_id,
            user=user,
            actor=Actor(user_id=owner["id"]),
            receipts=Receipts(client.app.state.settings),
            received_at=services.now(),
            declaration=services.Declaration("Camille Exemple", "présidente", True),
        )
        references.append(submitted.reference)
    assert references == ["PARTAGE-2026-0001", "PARTAGE-2026-0002", "PARTAGE-2026-0003"]


def test_the_file_is_read_as_a_typed_view_and_submitting_returns_a_new_one(client):
    """``application_for`` gives a frozen view, its JSON decoded once; ``submit``
    leaves the view it was given as it was and returns the file as submitted."""
    import dataclasses

    import pytest

    from app.accounts.services import Actor, load_current_user
    from app.applications import services
    from app.applications.receipts import Receipts
    from tests.factories import attach_pdf

    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True, max_award_cents=30_000_000)
    app_id = make_application(client, owner, make_organisation(client, owner), call_id)
    key = field_key(client, call_id)
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    post_form(client, f"/dossiers/{app_id}", {**BALANCED, key: "Projet.", "version": str(version)})
    sign_out(client)
    attach_pdf(client, owner, app_id, call_of(client, call_id)["documents"][0]["key"])
    user = run(client, load_current_user, owner["id"])

    draft = run(client, services.application_for, user, app_id)
    assert isinstance(draft, services.ApplicationView)
    assert draft.answers == {key: "Projet."} and draft.form["sections"][0]["fields"]
    assert draft.documents[0]["label"] == "Statuts" and draft.forecast.requested == 20_000_000
    assert draft.actions("applicant") == {"submit", "withdraw"} and draft.in_draft
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft.status = "submitted"  # type: ignore[misc]

    submitted = run(
        client,
        services.submit,
        app_id,
        user=user,
        actor=Actor(user_id=owner["id"]),
        receipts=Receipts(client.app.state.settings),
        received_at=services.now(),
        declaration=services.Declaration("Camille Exemple", "présidente", True),
    )
    assert draft.status == "draft" and draft.reference is None  # untouched
    assert submitted.status == "submitted" and submitted.reference and submitted.receipt_file
    assert submitted == run(client, services.application_for, user, app_id)
