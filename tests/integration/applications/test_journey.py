"""The application form without a dead end: an ended session loses nothing, uploads
belong to the form, conditional questions, the « file » question type, live budget
texts, the way back to the call after sign-in, sign-up and organisation creation."""

import json
import time
import types
from urllib.parse import parse_qs, urlsplit

import pytest

from app.accounts import sessions
from app.applications.tables import Application, Attachment
from app.calls import formspec
from app.calls import services as calls
from app.core import kept_forms
from tests.factories import (
    MINIMAL_PDF,
    csrf_token,
    emails_to,
    link_in,
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


def draft_of(client, app_id):
    row = run(client, lambda: Application.select().where(Application.id == app_id).first().run())
    if isinstance(row["answers"], str):
        row["answers"] = json.loads(row["answers"])
    return row


def said(response) -> str:
    return text_of(response.text).replace("\u202f", " ").replace("\u00a0", " ")


@pytest.fixture
def later(monkeypatch):
    """Move the session's clock past the applicant's idle limit (2 h)."""

    def move(seconds=2 * 3600 + 60):
        real = time.time
        monkeypatch.setattr(sessions, "time", types.SimpleNamespace(time=lambda: real() + seconds))

    yield move
    monkeypatch.undo()


def a_draft(client, **call_overrides):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer, publish=True, **call_overrides)
    app_id = make_application(client, owner, org, call_id)
    key = call_of(client, call_id)["form"]["sections"][0]["fields"][0]["key"]
    return officer, owner, call_id, app_id, key


# --- An ended session -------------------------------------------------------------


def test_an_answer_posted_after_the_session_ended_is_kept_and_restored_after_sign_in(
    client, later, monkeypatch
):
    _officer, owner, _call_id, app_id, key = a_draft(client)
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    page = client.get(f"/dossiers/{app_id}").text
    # The page knows when the session ends (2 h idle for applicants), for its warning.
    assert 'data-session-idle="7200"' in page and 'id="session-warning"' in page
    later()

    # An autosave meets the ended session: the page is kept, a notice goes to the top.
    autosave = client.post(
        f"/dossiers/{app_id}/enregistrer",
        data={"title": "Projet", key: "Texte tapé", "version": str(version)},
        headers={
            "HX-Request": "true",
            "HX-Current-URL": f"http://testserver.local/dossiers/{app_id}",
            "x-csrftoken": csrf_token(client),
        },
    )
    assert autosave.status_code == 401
    assert autosave.headers["HX-Retarget"] == "#flash"
    assert "Votre session a pris fin" in said(autosave)
    assert "Accès refusé" not in autosave.text
    assert f"suivant=%2Fdossiers%2F{app_id}" in autosave.text

    # The plain « Save » (no JavaScript): kept aside, sign-in leads back to the file.
    saved = post_form(
        client,
        f"/dossiers/{app_id}",
        {"title": "Mon projet", key: "Former des développeurs web.", "version": str(version)},
    )
    assert saved.status_code == 303
    target = urlsplit(saved.headers["location"])
    assert target.path == "/connexion"
    query = parse_qs(target.query)
    assert query == {"info": ["reponses-conservees"], "suivant": [f"/dossiers/{app_id}"]}
    token = client.cookies.get(kept_forms.COOKIE)
    assert token
    assert draft_of(client, app_id)["answers"] == {}  # nothing written without a session
    notice = client.get(saved.headers["location"])
    assert "elles sont conservées" in said(notice)

    # Someone else signing in with this browser does not get them.
    monkeypatch.undo()
    stranger = make_user(client)
    make_organisation(client, stranger)
    sign_in(client, stranger)
    assert client.get(f"/dossiers/{app_id}").status_code == 404
    sign_out(client)

    client.cookies.set(kept_forms.COOKIE, token, domain="testserver.local", path="/")
    response = client.post(
        "/connexion",
        data={
            "email": owner["email"],
            "password": owner["password"],
            "next": query["suivant"][0],
            "_csrf_token": csrf_token(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == f"/dossiers/{app_id}"
    restored = client.get(f"/dossiers/{app_id}")
    assert "Vos réponses non enregistrées ont été conservées" in said(restored)
    assert "Former des développeurs web." in restored.text
    assert 'value="Mon projet"' in restored.text
    # Once: the next visit shows what is saved.
    assert "Former des développeurs web." not in client.get(f"/dossiers/{app_id}").text
    # Saved from the restored page, on the version it was typed on.
    post_form(
        client,
        f"/dossiers/{app_id}",
        {"title": "Mon projet", key: "Former des développeurs web.", "version": str(version)},
    )
    assert draft_of(client, app_id)["answers"][key] == "Former des développeurs web."
    sign_out(client)


def test_pages_after_an_ended_session_say_so_never_access_refused(client, later):
    _officer, owner, _call_id, app_id, _key = a_draft(client)
    sign_in(client, owner)
    later()
    opened = client.get(f"/dossiers/{app_id}/deposer", follow_redirects=False)
    assert opened.status_code == 303
    assert parse_qs(urlsplit(opened.headers["location"]).query) == {
        "info": ["session-terminee"],
        "suivant": [f"/dossiers/{app_id}/deposer"],
    }
    # A form that does not keep its answers: « your session has ended », a way back.
    submitted = client.post(
        f"/dossiers/{app_id}/deposer",
        data={"_csrf_token": csrf_token(client)},
        headers={"referer": f"http://testserver.local/dossiers/{app_id}/deposer"},
    )
    assert submitted.status_code == 401
    assert "Votre session a pris fin" in said(submitted)
    assert "Accès refusé" not in said(submitted)
    assert f'href="/connexion?suivant=%2Fdossiers%2F{app_id}%2Fdeposer"' in submitted.text


def test_stay_signed_in_refreshes_the_session(client, later):
    _officer, owner, _call_id, _app_id, _key = a_draft(client)
    sign_in(client, owner)
    later(2 * 3600 - 120)  # two minutes before the end
    kept = client.post("/connexion/prolonger", headers={"x-csrftoken": csrf_token(client)})
    assert kept.status_code == 204 and 0 < int(kept.headers["X-Session-Seconds"]) <= 7200
    later(2 * 3600 - 120 + 3600)  # an hour after « stay signed in »: still signed in
    assert client.get("/dossiers").status_code == 200
    sign_out(client)


def test_kept_answers_are_for_their_page_and_person_only(tmp_path):
    token = kept_forms.keep(
        tmp_path, page="/dossiers/1", user_id=7, values={"title": "x"}, reason="session_ended"
    )
    assert kept_forms.take(tmp_path, token, page="/dossiers/2", user_id=7) is None
    assert kept_forms.take(tmp_path, token, page="/dossiers/1", user_id=8) is None
    assert kept_forms.take(tmp_path, "forged", page="/dossiers/1", user_id=7) is None
    (stored,) = (tmp_path / "kept").iterdir()
    assert stored.stat().st_mode & 0o077 == 0  # readable by the server only
    assert kept_forms.take(tmp_path, token, page="/dossiers/1", user_id=7) == (
        {"title": "x"},
        "session_ended",
    )
    assert kept_forms.take(tmp_path, token, page="/dossiers/1", user_id=7) is None


def test_kept_answers_are_bounded_on_disk(tmp_path, monkeypatch):
    """Too large, or too many kept already: not kept (the plain sign-in page)."""
    big = {"narrative": "x" * (kept_forms.MAX_KEPT_BYTES + 1)}
    assert kept_forms.keep(tmp_path, page="/d/1", user_id=1, values=big, reason="r") is None
    monkeypatch.setattr(kept_forms, "MAX_KEPT_FILES", 2)
    for n in range(2):
        assert kept_forms.keep(tmp_path, page=f"/d/{n}", user_id=1, values={}, reason="r")
    assert kept_forms.keep(tmp_path, page="/d/3", user_id=1, values={}, reason="r") is None
    assert len(list((tmp_path / "kept").iterdir())) == 2


# --- Uploads in the form ------------------------------------------------------------


def form_upload(client, app_id, key, fields, file_name, content, *, complete=True):
    parts = [("_csrf_token", (None, csrf_token(client)))]
    parts += [(name, (None, value)) for name, value in fields.items()]
    if complete:
        parts.append(("answers_end", (None, "1")))
    parts.append((f"file-{key}", (file_name, content, "application/pdf")))
    return client.post(f"/dossiers/{app_id}/pieces/{key}", files=parts, follow_redirects=False)


def test_a_document_sent_without_javascript_saves_the_answers_with_it(client):
    _officer, owner, call_id, app_id, key = a_draft(client)
    document = call_of(client, call_id)["documents"][0]["key"]
    sign_in(client, owner)
    page = client.get(f"/dossiers/{app_id}").text
    # The document's button is in the draft form and posts it whole.
    form = page.split('<form id="draft"')[1].split("</form>")[0]
    assert f'formaction="/dossiers/{app_id}/pieces/{document}"' in form
    assert "enregistre aussi vos réponses" in text_of(form)
    version = draft_of(client, app_id)["version"]

    sent = form_upload(
        client,
        app_id,
        document,
        {"version": str(version), "title": "Premier", key: "Réponse avant l’envoi"},
        "statuts.pdf",
        MINIMAL_PDF,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/dossiers/{app_id}#document-{document}"
    row = draft_of(client, app_id)
    assert row["title"] == "Premier" and row["answers"][key] == "Réponse avant l’envoi"
    assert run(client, lambda: Attachment.count().where(Attachment.application == app_id).run())

    # An answer typed after, then the plain « Save »: both kept.
    post_form(
        client,
        f"/dossiers/{app_id}",
        {"title": "Premier", key: "Réponse après l’envoi", "version": str(row["version"])},
    )
    assert draft_of(client, app_id)["answers"][key] == "Réponse après l’envoi"
    sign_out(client)


def test_a_file_too_large_says_its_size_and_the_limit_and_the_address_stays_the_files(client):
    _officer, owner, call_id, app_id, key = a_draft(client)
    document = call_of(client, call_id)["documents"][0]["key"]  # 1 MB at most
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    big = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)
    refused = form_upload(
        client,
        app_id,
        document,
        {"version": str(version), "title": "Gardé", key: "Réponse gardée"},
        "gros.pdf",
        big,
    )
    # Refused from Content-Length, when the file begins: the answers before it are saved.
    assert refused.status_code == 303
    assert refused.headers["location"] == f"/dossiers/{app_id}#document-{document}"
    assert draft_of(client, app_id)["answers"][key] == "Réponse gardée"
    page = client.get(refused.headers["location"])
    assert page.status_code == 200
    text = said(page)
    assert "Ce fichier pèse 3,1 Mo ; la limite pour ce document est de 1 Mo." in text
    assert "La pièce n’est pas jointe" in text
    assert not run(client, lambda: Attachment.count().where(Attachment.application == app_id).run())
    sign_out(client)


def test_a_wrong_answer_sent_with_a_document_comes_back_as_typed(client):
    _officer, owner, call_id, app_id, _key = a_draft(client)
    document = call_of(client, call_id)["documents"][0]["key"]
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    sent = form_upload(
        client,
        app_id,
        document,
        {"version": str(version), "title": "Titre", "requested": "beaucoup"},
        "statuts.pdf",
        MINIMAL_PDF,
    )
    assert sent.status_code == 303
    page = client.get(f"/dossiers/{app_id}")
    assert 'value="beaucoup"' in page.text and "error-summary" in page.text
    assert draft_of(client, app_id)["title"] == "Titre"
    sign_out(client)


def test_a_save_identical_to_what_is_stored_is_no_conflict(client):
    """An autosave and a document's upload carrying the same answers: no conflict."""
    _officer, owner, _call_id, app_id, key = a_draft(client)
    sign_in(client, owner)
    version = draft_of(client, app_id)["version"]
    answers = {"title": "Même", key: "Même texte", "version": str(version)}
    assert post_form(client, f"/dossiers/{app_id}/enregistrer", answers).status_code == 200
    again = post_form(client, f"/dossiers/{app_id}", answers)
    assert again.status_code == 303
    sign_out(client)


# --- Conditional questions and file questions -------------------------------------------


def with_fields(client, officer, call_id, *fields):
    def change(form):
        section = form["sections"][0]["key"]
        for values in fields:
            form = formspec.add_field(form, section, formspec.clean_field(values, form))
        return form

    run(client, calls.change_form, call_id, change, actor=calls.Actor(user_id=officer["id"]))
    return {f["label"]: f["key"] for f in formspec.fields_of(call_of(client, call_id)["form"])}


def test_a_conditional_question_reads_in_words_and_is_required_only_when_shown(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer)
    keys = with_fields(
        client,
        officer,
        call_id,
        {"type": "yes_no", "label": "Employez-vous des salariés ?", "required": "yes"},
    )
    keys = with_fields(
        client,
        officer,
        call_id,
        {
            "type": "short_text",
            "label": "Combien ?",
            "required": "yes",
            "condition_field": keys["Employez-vous des salariés ?"],
            "condition_value": "yes",
        },
    )
    run(client, calls.transition, call_id, "publish", actor=calls.Actor(user_id=officer["id"]))
    app_id = make_application(client, owner, org, call_id)
    sign_in(client, owner)
    page = client.get(f"/dossiers/{app_id}").text
    assert "Seulement si vous avez répondu « Oui » à « Employez-vous des salariés ? »." in (
        text_of(page)
    )
    assert f'data-condition-field="{keys["Employez-vous des salariés ?"]}"' in page

    def problems(answer):
        version = draft_of(client, app_id)["version"]
        post_form(
            client,
            f"/dossiers/{app_id}",
            {
                "version": str(version),
                keys["Employez-vous des salariés ?"]: answer,
                keys["Combien ?"]: "",
            },
        )
        return said(client.get(f"/dossiers/{app_id}/deposer"))

    assert "Répondez à « Combien ? »." not in problems("no")
    assert "Répondez à « Combien ? »." in problems("yes")
    sign_out(client)


def test_a_file_question_has_its_own_upload_is_required_and_listed(client):
    officer, owner = make_user(client, roles=["officer"]), make_user(client)
    org = make_organisation(client, owner)
    call_id = make_call(client, officer)
    keys = with_fields(
        client, officer, call_id, {"type": "file", "label": "Plan de formation", "required": "yes"}
    )
    run(client, calls.transition, call_id, "publish", actor=calls.Actor(user_id=officer["id"]))
    key = keys["Plan de formation"]
    app_id = make_application(client, owner, org, call_id)
    sign_in(client, owner)
    page = client.get(f"/dossiers/{app_id}").text
    assert "Joignez ce fichier dans" not in page
    assert f'formaction="/dossiers/{app_id}/pieces/{key}"' in page
    assert f'name="file-{key}"' in page
    assert "Répondez à « Plan de formation »." in said(client.get(f"/dossiers/{app_id}/deposer"))

    version = draft_of(client, app_id)["version"]
    sent = form_upload(
        client, app_id, key, {"version": str(version), "title": "T"}, "plan.pdf", MINIMAL_PDF
    )
    assert sent.status_code == 303
    assert "Répondez à « Plan de formation »." not in said(
        client.get(f"/dossiers/{app_id}/deposer")
    )
    assert "plan.pdf" in client.get(f"/dossiers/{app_id}").text
    sign_out(client)
    sign_in(client, officer)
    staff = said(client.get(f"/instruction/dossiers/{app_id}"))
    assert "Plan de formation" in staff and "plan.pdf" in staff
    sign_out(client)
    # The reviewer reads it under the question (it was a 500: the review page's
    # documents are named as the reviewer may see them).
    from app.applications.tables import Application
    from app.reviews.tables import Assignment

    reviewer = make_user(client, roles=["reviewer"])
    run(
        client,
        lambda: (
            Application.update({Application.status: "in_review", Application.reference: "F-1"})
            .where(Application.id == app_id)
            .run()
        ),
    )
    assignment = run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=app_id, reviewer=reviewer["id"]))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]
    sign_in(client, reviewer)
    review = client.get(f"/evaluation/{assignment}")
    assert review.status_code == 200
    assert "Plan de formation" in said(review) and "plan.pdf" in said(review)
    sign_out(client)


def test_the_budget_carries_its_live_texts(client):
    _officer, owner, _call_id, app_id, _key = a_draft(client)
    sign_in(client, owner)
    page = client.get(f"/dossiers/{app_id}").text
    summary = page.split('id="budget-summary"')[1].split("</div>")[0]
    assert 'data-max-rate-bp="8000"' in summary
    assert "{rate}" in summary and "{charges}" in summary and "{produits}" in summary
    sign_out(client)


# --- The way back to the call -------------------------------------------------------


def test_apply_while_signed_out_leads_back_to_the_call_through_sign_up_and_organisation(client):
    officer = make_user(client, roles=["officer"])
    call_id = make_call(client, officer, publish=True)
    apply_path = f"/appels/{call_id}/candidater"
    detail = client.get(f"/appels/{call_id}").text
    link = f'href="/connexion?info=candidater&amp;suivant=%2Fappels%2F{call_id}%2Fcandidater"'
    assert link in detail
    sign_in_page = client.get(f"/connexion?info=candidater&suivant={apply_path}")
    assert "Pour candidater à un appel" in said(sign_in_page)
    signup_link = f'href="/inscription?suivant=%2Fappels%2F{call_id}%2Fcandidater"'
    assert signup_link in sign_in_page.text
    # The apply page itself, opened signed out, goes to sign-in and back.
    opened = client.get(apply_path, follow_redirects=False)
    assert parse_qs(urlsplit(opened.headers["location"]).query)["suivant"] == [apply_path]

    # Sign-up, the confirmation e-mail, sign-in: back to the call.
    email = "tresoriere@asso-journey.test"
    post_form(
        client,
        "/inscription",
        {
            "full_name": "Trésorière Test",
            "email": email,
            "password": "correct horse battery staple",
            "accept_terms": "yes",
            "next": apply_path,
        },
    )
    confirm = link_in(emails_to(client, email)[-1])
    confirm_page = client.get(confirm).text
    token = confirm_page.split('name="token" value="')[1].split('"')[0]
    confirmed = post_form(client, "/compte/confirmer", {"token": token, "next": apply_path})
    signed = post_form(
        client,
        "/connexion",
        {
            "email": email,
            "password": "correct horse battery staple",
            "next": parse_qs(urlsplit(confirmed.headers["location"]).query)["suivant"][0],
        },
    )
    assert signed.headers["location"] == apply_path
    # No organisation yet: creating one leads back to the call too.
    apply_page = client.get(apply_path).text
    assert f'href="/structures/nouvelle?suivant=%2Fappels%2F{call_id}%2Fcandidater"' in (apply_page)
    sign_out(client)
