"""The date the funder expects to decide: optional on the call, after its closing,
edited with its settings, and told to the applicants once they have submitted."""

from datetime import date

from app.calls import services as calls
from app.calls.tables import Call
from tests.factories import make_call, make_user, post_form, run, sign_in, sign_out, text_of
from tests.integration.applications.test_check_and_submit import DECLARATION, ready_to_submit
from tests.integration.calls.test_calls import SETTINGS, funder_id


def test_the_decision_date_is_optional_after_the_closing_and_kept_when_refused(client):
    officer = make_user(client, roles=["officer"])
    make_call(client, officer)  # a funder to choose
    sign_in(client, officer)
    values = {**SETTINGS, "funder": funder_id(client)}
    early = post_form(
        client, "/instruction/appels/nouveau", {**values, "decision_expected_on": "2031-03-16"}
    )
    assert early.status_code == 422
    assert "avant la clôture de l’appel" in text_of(early.text)
    assert 'value="2031-03-16"' in early.text
    wrong = post_form(
        client, "/instruction/appels/nouveau", {**values, "decision_expected_on": "31/02/2031"}
    )
    assert wrong.status_code == 422 and "Indiquez une date" in text_of(wrong.text)
    without = post_form(client, "/instruction/appels/nouveau", values)
    assert without.status_code == 303
    call_id = int(without.headers["location"].rsplit("/", 1)[1])
    assert run(client, calls.get_call, call_id)["decision_expected_on"] is None
    edited = post_form(
        client,
        f"/instruction/appels/{call_id}",
        {**values, "decision_expected_on": "30/06/2031"},
    )
    assert edited.status_code == 303, edited.text
    assert run(client, calls.get_call, call_id)["decision_expected_on"] == date(2031, 6, 30)
    assert 'value="2031-06-30"' in client.get(f"/instruction/appels/{call_id}").text
    sign_out(client)


def test_the_submitted_file_says_when_the_decision_is_expected(client):
    _owner, _officer, call, app_id = ready_to_submit(client)
    assert post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION).status_code == 303
    assert "n’annonce pas de date de décision" in text_of(client.get(f"/dossiers/{app_id}").text)
    run(
        client,
        lambda: (
            Call.update({Call.decision_expected_on: date(2099, 12, 31)})
            .where(Call.id == call["id"])
            .run()
        ),
    )
    text = text_of(client.get(f"/dossiers/{app_id}").text)
    assert "La décision est attendue d’ici le 31 décembre 2099." in text
    sign_out(client)


def test_the_receipt_gives_the_expected_decision_date_when_the_call_has_one(client):
    from tests.integration.applications.test_lawful_receipt import pdf_text

    _owner, _officer, call, app_id = ready_to_submit(client)
    run(
        client,
        lambda: (
            Call.update({Call.decision_expected_on: date(2099, 12, 31)})
            .where(Call.id == call["id"])
            .run()
        ),
    )
    assert post_form(client, f"/dossiers/{app_id}/deposer", DECLARATION).status_code == 303
    text = pdf_text(client.get(f"/dossiers/{app_id}/accuse-de-reception.pdf").content)
    assert "Décision attendue d’ici le 31 décembre 2099" in text
    sign_out(client)
