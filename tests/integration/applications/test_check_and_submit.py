"""« Vérifier et déposer »: the file read back with a link to change each part, the
sworn statement (required, stored, printed on the receipt), and the file once
submitted read as a summary with « Et maintenant ? »."""

import io

from pypdf import PdfReader

from app.applications.tables import Application
from app.calls import services as calls
from app.funders.tables import Funder
from tests.factories import (
    DECLARATION,
    attach_pdf,
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

BALANCED = {
    "title": "École du web",
    "requested": "200 000",
    "budget_charges_64": "180 000",
    "budget_charges_60": "70 000",
    "budget_produits_74_etat": "50 000",
}


def ready_to_submit(client):
    """A complete draft of a new organisation: (owner, officer, call, app)."""
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    call_id = make_call(client, officer, publish=True, max_award_cents=30_000_000)
    app_id = make_application(client, owner, make_organisation(client, owner), call_id)
    call = run(client, calls.get_call, call_id)
    key = call["form"]["sections"][0]["fields"][0]["key"]
    sign_in(client, owner)
    version = run(
        client,
        lambda: (
            Application.select(Application.version).where(Application.id == app_id).first().run()
        ),
    )["version"]
    saved = post_form(
        client,
        f"/dossiers/{app_id}",
        {**BALANCED, key: "Former des développeurs web.", "version": str(version)},
    )
    assert saved.status_code == 303, saved.text
    attach_pdf(client, owner, app_id, call["documents"][0]["key"], name="statuts-2017.pdf")
    return owner, officer, call, app_id


def row_of(client, app_id):
    return run(client, lambda: Application.select().where(Application.id == app_id).first().run())


def test_the_summary_reads_back_every_part_with_a_link_to_change_it(client):
    _owner, _officer, call, app_id = ready_to_submit(client)
    page = client.get(f"/dossiers/{app_id}/deposer").text
    text = text_of(page).replace("\u202f", " ")
    section = call["form"]["sections"][0]
    assert "Former des développeurs web." in text  # the answer, as text
    assert "École du web" in text and "200 000,00 €" in text  # the project, the budget
    assert "statuts-2017.pdf" in text  # the documents
    for anchor in (
        "#field-title",
        f"#section-{section['key']}",
        "#budget-section",
        "#documents-title",
    ):
        assert f'href="/dossiers/{app_id}{anchor}"' in page, anchor
    # Read back, not a form to fill again: no answer field on the page.
    assert 'name="budget_charges_64"' not in page and 'name="title"' not in page
    # The sworn statement, with the capacity to choose or type.
    assert "Je certifie exactes les informations du présent dossier" in text
    assert 'list="capacities"' in page and "Trésorier·e" in page
    sign_out(client)


def test_the_sworn_statement_is_required_and_keeps_what_was_typed(client):
    _owner, _officer, _call, app_id = ready_to_submit(client)
    refused = post_form(
        client,
        f"/dossiers/{app_id}/deposer",
        {"declarant_name": "Camille Exemple", "declarant_capacity": "", "certify": ""},
    )
    assert refused.status_code == 422
    text = text_of(refused.text)
    assert "Indiquez en quelle qualité vous agissez" in text
    assert "Cochez la case pour certifier exactes les informations" in text
    assert 'value="Camille Exemple"' in refused.text  # kept
    assert row_of(client, app_id)["status"] == "draft"  # nothing half-written
    ticked = post_form(
        client,
        f"/dossiers/{app_id}/deposer",
        {"declarant_name": "", "declarant_capacity": "Trésorier·e", "certify": "yes"},
    )
    assert ticked.status_code == 422
    assert 'value="Trésorier·e"' in ticked.text and "checked" in ticked.text
    assert row_of(client, app_id)["status"] == "draft"
    sign_out(client)


def test_the_statement_is_stored_with_the_submission_and_printed_on_the_receipt(client):
    _owner, _officer, _call, app_id = ready_to_submit(client)
    done = post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION)
    assert done.status_code == 303, done.text
    row = row_of(client, app_id)
    assert row["status"] == "submitted"
    assert (row["declarant_name"], row["declarant_capacity"]) == ("Camille Exemple", "présidente")
    receipt = client.get(f"/dossiers/{app_id}/accuse-de-reception.pdf")
    assert receipt.status_code == 200
    pdf = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(receipt.content)).pages
    ).replace("\n", " ")
    assert "Déclaration sur l’honneur" in pdf
    assert "Camille Exemple, présidente, certifie exactes les informations" in pdf
    sign_out(client)


def test_the_submitted_file_reads_as_a_summary_with_what_comes_next(client):
    _owner, _officer, call, app_id = ready_to_submit(client)
    run(
        client,
        lambda: (
            Funder.update(
                {
                    Funder.address: "Service des subventions\n2 rue Simone Veil\n93400 Saint-Ouen",
                    Funder.website: "https://www.iledefrance.fr",
                }
            )
            .where(Funder.id == call["funder"])
            .run()
        ),
    )
    assert post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION).status_code == 303
    page = client.get(f"/dossiers/{app_id}").text
    text = text_of(page)
    # A summary, not greyed-out fields.
    assert "readonly" not in page and 'name="budget_charges_64"' not in page
    assert "Former des développeurs web." in text and "statuts-2017.pdf" in text
    assert "par Camille Exemple (présidente)" in text
    # « Et maintenant ? »: the steps, where the file is, who to contact, then withdrawal.
    assert "Et maintenant ?" in text
    for step in ("Recevabilité", "Évaluation", "Commission", "Décision"):
        assert step in text, step
    current = page.split('aria-current="step"')[1].split("</li>")[0]
    assert "Recevabilité" in current and "en cours" in current  # where the file is
    assert "2 rue Simone Veil" in text and "https://www.iledefrance.fr" in page
    assert (
        text.index("Et maintenant ?")
        < text.index("Qui contacter")
        < text.index("Retirer ma candidature")
    )
    # No change links on the file as submitted.
    assert f'href="/dossiers/{app_id}#field-title"' not in page
    # Before publication, the committee's work is not shown: a reviewed file still
    # reads « under review » to its organisation, in its steps as in its status.
    run(
        client,
        lambda: (
            Application.update({Application.status: "reviewed"})
            .where(Application.id == app_id)
            .run()
        ),
    )
    page = client.get(f"/dossiers/{app_id}").text
    current = page.split('aria-current="step"')[1].split("</li>")[0]
    assert "Évaluation" in current and "Commission" not in current
    sign_out(client)
