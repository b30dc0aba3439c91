"""A document sent without JavaScript after the session ended: the answers sent with
it are kept as the draft's « Save » keeps them; the file is not (nothing is stored
without a session), and the person is told to choose it again."""

from urllib.parse import parse_qs, urlsplit

from app.applications.tables import Attachment
from app.core import kept_forms
from tests.factories import MINIMAL_PDF, csrf_token, make_user, run, sign_in, sign_out
from tests.integration.applications import test_journey as journey
from tests.integration.applications.test_journey import (
    a_draft,
    call_of,
    draft_of,
    form_upload,
    said,
)

later = journey.later  # the fixture moving the session's clock past its idle limit


def _attachments(client, app_id):
    return run(client, lambda: Attachment.count().where(Attachment.application == app_id).run())


def test_an_upload_after_the_session_ended_keeps_the_answers_and_asks_for_the_file_again(
    client, later, monkeypatch
):
    _officer, owner, call_id, app_id, key = a_draft(client)
    document = call_of(client, call_id)["documents"][0]["key"]
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    later()
    sent = form_upload(
        client,
        app_id,
        document,
        {"version": str(version), "title": "Titre tapé", key: "Réponse tapée avant l’envoi"},
        "statuts.pdf",
        MINIMAL_PDF,
    )
    assert sent.status_code == 303
    target = urlsplit(sent.headers["location"])
    assert target.path == "/connexion"
    assert parse_qs(target.query) == {
        "info": ["document-a-renvoyer"],
        "suivant": [f"/dossiers/{app_id}"],
    }
    token = client.cookies.get(kept_forms.COOKIE)
    assert token
    assert _attachments(client, app_id) == 0  # no file without a session
    assert draft_of(client, app_id)["answers"] == {}
    notice = said(client.get(sent.headers["location"]))
    assert "le document n’a pas été reçu" in notice

    monkeypatch.undo()
    sign_in(client, owner)
    restored = client.get(f"/dossiers/{app_id}")
    page = said(restored)
    assert "Vos réponses non enregistrées ont été conservées" in page
    assert "choisissez à nouveau le document" in page
    assert "Réponse tapée avant l’envoi" in restored.text
    assert 'value="Titre tapé"' in restored.text
    sign_out(client)


def test_a_forged_or_foreign_upload_after_the_session_ended_keeps_nothing(
    client, later, monkeypatch
):
    _officer, owner, call_id, app_id, key = a_draft(client)
    document = call_of(client, call_id)["documents"][0]["key"]
    fields = {"version": "1", "title": "Forgé", key: "x", "answers_end": "1"}

    # A wrong CSRF token: refused before anything is read or kept.
    sign_in(client, owner)
    later()
    parts = [("_csrf_token", (None, "forged"))]
    parts += [(name, (None, value)) for name, value in fields.items()]
    parts.append((f"file-{document}", ("a.pdf", MINIMAL_PDF, "application/pdf")))
    forged = client.post(f"/dossiers/{app_id}/pieces/{document}", files=parts)
    assert forged.status_code == 401 and "Votre session a pris fin" in said(forged)
    assert kept_forms.COOKIE not in client.cookies
    monkeypatch.undo()
    sign_out(client)

    # Someone whose session ended, posting to a file that is not theirs.
    stranger = make_user(client)
    sign_in(client, stranger)
    later()
    parts[0] = ("_csrf_token", (None, csrf_token(client)))
    foreign = client.post(f"/dossiers/{app_id}/pieces/{document}", files=parts)
    assert foreign.status_code == 401
    assert kept_forms.COOKIE not in client.cookies
    monkeypatch.undo()
    sign_out(client)
    assert _attachments(client, app_id) == 0
