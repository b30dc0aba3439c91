"""The receipt's lawful mentions (CRPA L112-3, R112-5): date of receipt, the service in
charge with its address, e-mail and telephone, when silence means rejection and the
appeal routes against that implicit decision, what is missing (and by when) for a file
sent back; the SHA-256 fingerprints in a final « Intégrité » block. And the
ineligibility decision, stored once at screening and served as stored."""

import io
from datetime import UTC, datetime, timedelta

import pypdf

from app.accounts.services import Actor, load_current_user
from app.applications import ineligibility, screening
from app.applications.tables import Application
from app.calls.tables import Call
from app.core.storage import FileStorage
from app.funders import services as funders
from tests.factories import (
    DECLARATION,
    make_user,
    post_form,
    run,
    sign_in,
    sign_out,
)
from tests.integration.applications.test_check_and_submit import ready_to_submit, row_of

LEGAL = {
    "service_name": "Pôle formation professionnelle",
    "service_address": "Direction de la formation\n2 rue Simone-Veil\n93400 Saint-Ouen-sur-Seine",
    "service_email": "formation@region.test",
    "service_phone": "01 53 85 53 85",
    "signatory_name": "",
    "signatory_capacity": "",
    "deliberation_body": "",
    "siret": "",
}


def plain(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def pdf_text(content: bytes) -> str:
    return plain(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages))


def submitted(client, *, silence_months=None):
    owner, officer, call, app_id = ready_to_submit(client)
    assert not run(client, funders.update_legal, call["funder"], LEGAL, actor=Actor(user_id=None))
    if silence_months:
        run(
            client,
            lambda: (
                Call.update({Call.silence_months: silence_months})
                .where(Call.id == call["id"])
                .run()
            ),
        )
    assert post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION).status_code == 303
    return owner, officer, call, app_id


def test_the_receipt_says_what_the_law_asks(client):
    _owner, _officer, _call, app_id = submitted(client, silence_months=3)
    row = row_of(client, app_id)
    response = client.get(f"/dossiers/{app_id}/accuse-de-reception.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    # The date of receipt, in Paris time.
    assert "Date et heure de réception (heure de Paris)" in text
    # The service in charge: name, postal address, e-mail, telephone.
    for line in (
        "Service chargé de votre dossier",
        "Pôle formation professionnelle",
        "Direction de la formation",
        "2 rue Simone-Veil",
        "93400 Saint-Ouen-sur-Seine",
        "formation@region.test",
        "01 53 85 53 85",
    ):
        assert line in text, line
    # Silence means rejection after the call's period, and the routes against it.
    assert "dans un délai de 3 mois" in text and "réputée rejetée" in text
    assert "décision implicite de rejet peut faire l’objet" in text
    assert "recours gracieux" in text and "tribunal administratif" in text
    assert "Télérecours citoyens" in text and "www.telerecours.fr" in text
    # A complete file: nothing said missing.
    assert "Votre dossier est incomplet" not in text
    # The fingerprints: only in the final « Intégrité » block.
    letter, integrity = text.split("Intégrité", 1)
    assert row["content_sha256"] not in letter.replace(" ", "")
    assert row["content_sha256"] in integrity.replace(" ", "")
    assert "SHA-256" not in letter
    assert "statuts-2017.pdf" in letter  # the documents are listed, by name
    # Signed by the service in charge.
    assert text.rstrip().count("Pôle formation professionnelle") >= 2
    sign_out(client)


def test_the_silence_period_is_two_months_by_default(client):
    _owner, _officer, _call, app_id = submitted(client)
    text = pdf_text(client.get(f"/dossiers/{app_id}/accuse-de-reception.pdf").content)
    assert "dans un délai de 2 mois" in text
    sign_out(client)


def test_a_file_sent_back_gets_a_receipt_with_what_is_missing_and_by_when(client):
    owner, officer, _call, app_id = submitted(client)
    first = row_of(client, app_id)["receipt_file"]
    sign_out(client)
    sign_in(client, officer)
    deadline = (datetime.now(UTC) + timedelta(days=15)).astimezone()
    sent = post_form(
        client,
        f"/instruction/dossiers/{app_id}/a-completer",
        {
            "message": "Le RIB signé et le budget daté.",
            "complete_by": deadline.strftime("%Y-%m-%dT17:00"),
        },
    )
    assert sent.status_code == 303
    row = row_of(client, app_id)
    assert row["status"] == "to_complete" and row["receipt_file"] not in (None, first)
    files = FileStorage.of_app(client.app)
    assert not files.path_of(first).exists()  # the first receipt is replaced
    sign_out(client)
    sign_in(client, owner)
    text = pdf_text(client.get(f"/dossiers/{app_id}/accuse-de-reception.pdf").content)
    assert "Votre dossier est incomplet" in text
    assert "Le RIB signé et le budget daté." in text
    assert "À transmettre avant le" in text and "17 h 00" in text
    assert "ne court qu’à compter de la réception du dossier complet" in text
    sign_out(client)


def test_the_ineligibility_decision_is_stored_once_and_served_as_stored(client):
    owner, officer, _call, app_id = submitted(client)
    sign_out(client)
    sign_in(client, officer)
    done = post_form(
        client,
        f"/instruction/dossiers/{app_id}/recevabilite",
        {"decision": "ineligible", "reason": "Statuts non signés."},
    )
    assert done.status_code == 303
    stored = row_of(client, app_id)["ineligibility_file"]
    assert stored
    files = FileStorage.of_app(client.app)
    on_disk = files.path_of(stored).read_bytes()
    sign_out(client)
    sign_in(client, owner)
    served = [client.get(f"/dossiers/{app_id}/irrecevabilite.pdf") for _ in range(2)]
    assert all(r.status_code == 200 for r in served)
    assert served[0].content == served[1].content == on_disk  # the stored one, each time
    assert "Statuts non signés." in pdf_text(on_disk)
    # Write-once: storing again keeps the first.
    user = run(client, load_current_user, officer["id"])
    app = run(client, screening.application_for, user, app_id)
    assert run(client, ineligibility.store_decision, app, files) == stored
    assert row_of(client, app_id)["ineligibility_file"] == stored
    sign_out(client)


def test_a_get_never_writes_the_decision_of_a_file_screened_before_it_was_stored(client):
    owner, officer, _call, app_id = submitted(client)
    user = run(client, load_current_user, officer["id"])
    # Screened without the file storage (as before decisions were stored).
    run(
        client,
        screening.screen,
        [app_id],
        "ineligible",
        reason="Hors du territoire.",
        user=user,
        actor=Actor(user_id=officer["id"]),
        base_url="",
    )
    assert row_of(client, app_id)["ineligibility_file"] is None
    sign_in(client, owner)
    response = client.get(f"/dossiers/{app_id}/irrecevabilite.pdf")
    assert response.status_code == 200 and "Hors du territoire." in pdf_text(response.content)
    assert row_of(client, app_id)["ineligibility_file"] is None  # made again, not stored
    sign_out(client)


def test_the_decision_file_is_known_to_the_crash_recovery():
    from app.recovery import file_columns

    assert Application.ineligibility_file in file_columns()


def test_an_officer_sets_the_silence_period_of_a_call(client):
    from app.calls import services as calls
    from tests.factories import make_call
    from tests.integration.calls.test_call_setup import settings_of

    officer = make_user(client, roles=["officer"])
    call_id = make_call(client, officer)
    call = run(client, calls.get_call, call_id)
    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}").text
    assert 'name="silence_months"' in page and 'value="2"' in page
    refused = post_form(
        client, f"/instruction/appels/{call_id}", settings_of(call, silence_months="0")
    )
    assert refused.status_code == 422 and "entre 1 et 12" in refused.text
    saved = post_form(
        client, f"/instruction/appels/{call_id}", settings_of(call, silence_months="4")
    )
    assert saved.status_code == 303
    assert run(client, calls.get_call, call_id)["silence_months"] == 4
    sign_out(client)
