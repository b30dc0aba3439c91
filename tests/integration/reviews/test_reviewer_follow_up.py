"""Reviewers followed up: one e-mail per reviewer for their new files, progress per
reviewer with « Relancer », a decline that puts the file back in review, a blind call
that hides the organisation everywhere a reviewer can look."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.applications.tables import Application, Attachment
from app.calls import services as calls
from app.core.tables import AuditEntry
from app.organisations.tables import Organisation
from app.reviews.tables import Assignment
from tests.factories import (
    attach_pdf,
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
from tests.integration.reviews.test_reviews import setup_call


def _settings(client, call_id, **extra):
    post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation",
        {
            "reviews_wanted": "2",
            "rank_by": "mean",
            "visibility": "after_own",
            "threshold": "4",
            **extra,
        },
    )


def _pool(client, call_id, people):
    for person in people:
        post_form(
            client,
            f"/instruction/appels/{call_id}/evaluation/evaluateurs",
            {"reviewer": str(person["id"])},
        )


def _auto_assign(client, call_id):
    preview = client.get(f"/instruction/appels/{call_id}/evaluation/affectation")
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', preview.text).group(1)
    return post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/affectation",
        {"fingerprint": fingerprint},
    )


def _assignments(client, **where):
    query = Assignment.select(Assignment.id, Assignment.application, Assignment.reviewer)
    for name, value in where.items():
        query = query.where(getattr(Assignment, name) == value)
    return run(client, query.order_by(Assignment.id).run)


def test_assigning_sends_each_reviewer_one_email_listing_their_files(client):
    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=3)
    third = make_user(client, roles=["reviewer"])
    sign_in(client, officer)
    _settings(client, call_id, due_at="2030-06-15T18:00")
    _pool(client, call_id, [*reviewers, third])
    # By hand first: two files to the third reviewer, in one e-mail.
    given = post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/affectation-manuelle",
        {"application": [str(files[0][0]), str(files[1][0])], "reviewer": str(third["id"])},
    )
    assert given.status_code == 303
    mails = emails_to(client, third["email"])
    assert len(mails) == 1 and mails[0]["template"] == "review_assigned"
    assert mails[0]["subject"] == "2 dossiers à évaluer"
    for app_id, _org in files[:2]:
        assert f"R-{app_id:05d}" in mails[0]["body_text"]
    assert f"R-{files[2][0]:05d}" not in mails[0]["body_text"]
    assert "15 juin 2030" in mails[0]["body_text"]
    assert "/evaluation/" in mails[0]["body_text"]
    # Then automatically: each reviewer given files gets one e-mail listing all of them.
    assert _auto_assign(client, call_id).status_code == 303
    sign_out(client)
    for person in reviewers:
        mine = _assignments(client, reviewer=person["id"])
        mails = emails_to(client, person["email"])
        if not mine:
            assert mails == []
            continue
        assert len(mails) == 1, mails
        for row in mine:
            assert f"R-{row['application']:05d}" in mails[0]["body_text"]
            assert f"/evaluation/{row['id']}" in mails[0]["body_text"]
    assert len(emails_to(client, third["email"])) in (1, 2)  # at most one more


def test_progress_per_reviewer_and_reminders_now(client):
    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=2)
    sign_in(client, officer)
    _settings(client, call_id)
    _pool(client, call_id, reviewers)
    assert _auto_assign(client, call_id).status_code == 303
    # Reviews were due yesterday: every unsubmitted review is late.
    from app.reviews.tables import ReviewSettings

    run(
        client,
        ReviewSettings.update({ReviewSettings.due_at: datetime.now(UTC) - timedelta(days=1)})
        .where(ReviewSettings.call == call_id)
        .run,
    )
    first = _assignments(client, reviewer=reviewers[0]["id"])[0]
    run(
        client,
        Assignment.update({Assignment.submitted_at: datetime.now(UTC)})
        .where(Assignment.id == first["id"])
        .run,
    )
    page = client.get(f"/instruction/appels/{call_id}/evaluation")
    section = text_of(page.text.split('id="progress-title"')[1].split("</section>")[0])
    # assigned, submitted, in draft, late, declined
    assert f"{reviewers[0]['full_name']} {reviewers[0]['email']} 2 1 1 1 0" in section
    assert f"{reviewers[1]['full_name']} {reviewers[1]['email']} 2 0 2 2 0" in section
    assert "Relancer tous les évaluateurs en retard" in page.text

    before = [len(emails_to(client, r["email"])) for r in reviewers]
    one = post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/relancer",
        {"reviewer": str(reviewers[1]["id"])},
        follow_redirects=True,
    )
    assert "Une relance est envoyée." in one.text
    mails = emails_to(client, reviewers[1]["email"])
    assert len(mails) == before[1] + 1 and mails[-1]["template"] == "review_reminder_now"
    for app_id, _org in files:
        assert f"R-{app_id:05d}" in mails[-1]["body_text"]
    assert len(emails_to(client, reviewers[0]["email"])) == before[0]

    every_late = post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/relancer",
        {"late": "1"},
        follow_redirects=True,
    )
    assert "2 relances sont envoyées." in every_late.text
    reminded = run(
        client,
        AuditEntry.select(AuditEntry.id)
        .where((AuditEntry.action == "reviews.reminded") & (AuditEntry.object_id == str(call_id)))
        .run,
    )
    assert len(reminded) == 3  # logged: one per reminder
    # Nothing to ask of a reviewer who has submitted everything.
    run(
        client,
        Assignment.update({Assignment.submitted_at: datetime.now(UTC)})
        .where(Assignment.reviewer == reviewers[0]["id"])
        .run,
    )
    none = post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/relancer",
        {"reviewer": str(reviewers[0]["id"])},
        follow_redirects=True,
    )
    assert "Personne à relancer" in none.text
    sign_out(client)


def test_a_decline_puts_the_file_back_in_review_and_in_the_officers_queue(client):
    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=1)
    spare = make_user(client, roles=["reviewer"])
    app_id = files[0][0]
    sign_in(client, officer)
    _settings(client, call_id)
    _pool(client, call_id, reviewers)
    assert _auto_assign(client, call_id).status_code == 303
    _pool(client, call_id, [spare])
    sign_out(client)
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    mine = {a["reviewer"]: a["id"] for a in _assignments(client, application=app_id)}
    # The first reviewer submits; the second declines for a conflict.
    sign_in(client, reviewers[0])
    done = post_form(
        client,
        f"/evaluation/{mine[reviewers[0]['id']]}",
        {
            f"score_{keys[0]}": "4",
            f"score_{keys[1]}": "12",
            "opinion": "favourable",
            "action": "submit",
        },
    )
    assert done.status_code == 303
    sign_out(client)
    sign_in(client, reviewers[1])
    declined = post_form(
        client,
        f"/evaluation/{mine[reviewers[1]['id']]}/conflit",
        {"reason": "Ancien salarié de la structure"},
    )
    assert declined.status_code == 303
    sign_out(client)
    status = run(
        client,
        Application.select(Application.status).where(Application.id == app_id).first().run,
    )["status"]
    assert status == "in_review"  # one review of two: not « évalué »

    sign_in(client, officer)
    file_page = text_of(client.get(f"/instruction/dossiers/{app_id}/evaluations").text)
    assert "1 évaluation sur 2" in file_page
    assert "Ancien salarié de la structure" in file_page
    queue = text_of(client.get("/a-traiter").text)
    assert "1 Évaluations manquantes après un désistement" in queue
    setup = text_of(client.get(f"/instruction/appels/{call_id}/evaluation").text)
    assert f"{reviewers[1]['full_name']} {reviewers[1]['email']} 0 0 0 0 1" in setup
    preview = client.get(f"/instruction/appels/{call_id}/evaluation/affectation")
    assert "1 nouvelle affectation" in text_of(preview.text)
    assert _auto_assign(client, call_id).status_code == 303
    assert {a["reviewer"] for a in _assignments(client, application=app_id)} == {
        reviewers[0]["id"],
        spare["id"],
    }
    queue = text_of(client.get("/a-traiter").text)
    assert "0 Évaluations manquantes après un désistement" in queue
    sign_out(client)


def test_a_blind_call_hides_the_organisation_from_its_reviewers(client):
    officer = make_user(client, roles=["officer"])
    reviewer = make_user(client, roles=["reviewer"])
    owner = make_user(client)
    call_id = make_call(client, officer)
    actor = calls.Actor(user_id=officer["id"])
    run(
        client,
        calls.add_criterion,
        call_id,
        {"title": "Qualité", "weight": "1", "scale": "5"},
        actor=actor,
    )
    # The organisation's own papers: never shown on a blind call.
    run(
        client,
        calls.add_document,
        call_id,
        {
            "label": "RIB",
            "required": "",
            "kinds": ["pdf"],
            "max_mb": "1",
            "about_organisation": "yes",
        },
        actor=actor,
    )
    run(client, calls.transition, call_id, "publish", actor=actor)
    org = make_organisation(client, owner, name="Les Zéphyrs Solidaires")
    siret = run(
        client, Organisation.select(Organisation.siret).where(Organisation.id == org).first().run
    )["siret"]
    app_id = make_application(client, owner, org, call_id)
    document, bank = run(client, calls.get_call, call_id)["documents"]
    attach_pdf(client, owner, app_id, document["key"], name="Statuts Zephyrs Solidaires.pdf")
    attach_pdf(client, owner, app_id, bank["key"], name="RIB Zephyrs.pdf")
    bank_file = run(
        client,
        Attachment.select(Attachment.id)
        .where((Attachment.application == app_id) & (Attachment.document_key == bank["key"]))
        .first()
        .run,
    )["id"]
    run(
        client,
        Application.update({Application.status: "eligible", Application.reference: f"B-{app_id}"})
        .where(Application.id == app_id)
        .run,
    )
    sign_in(client, officer)
    _settings(client, call_id, blind="yes", reviews_wanted="1")
    _pool(client, call_id, [reviewer])
    assert _auto_assign(client, call_id).status_code == 303
    sign_out(client)
    assignment = _assignments(client, reviewer=reviewer["id"])[0]["id"]

    hidden = ("Zéphyrs", "Zephyrs", siret, "Présidence Test", owner["email"])
    sign_in(client, reviewer)
    review = client.get(f"/evaluation/{assignment}")
    assert review.status_code == 200
    # The document is shown under the call's name for it, with a neutral file name.
    assert document["label"] in review.text
    attachment = re.search(rf"/evaluation/{assignment}/pieces/(\d+)", review.text).group(1)
    download = client.get(f"/evaluation/{assignment}/pieces/{attachment}")
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert review.text.count(f"/evaluation/{assignment}/pieces/") == 1  # not the RIB
    assert client.get(f"/evaluation/{assignment}/pieces/{bank_file}").status_code == 404
    pages = {
        "review page": review.text,
        "download name": disposition,
        "reviewer dashboard": client.get("/evaluation").text,
        "to do": client.get("/a-traiter").text,
        "links": client.get("/evaluation/liens").text,
        "e-mail": "\n".join(
            m["subject"] + m["body_text"] + m["body_html"]
            for m in emails_to(client, reviewer["email"])
        ),
    }
    for where, text in pages.items():
        for secret in hidden:
            assert secret not in text, (where, secret)
    assert f"B-{app_id}-" in disposition and disposition.rstrip('"').endswith(".pdf")
    # Members, SIRET, bank details: the organisation's page and the file are closed.
    assert client.get(f"/structures/{org}").status_code in (403, 404)
    assert client.get(f"/instruction/dossiers/{app_id}").status_code in (403, 404)
    # Exports are the staff's.
    for export in ("classement/evaluations.csv", "dossiers/export.csv", "dossiers/export.xlsx"):
        assert client.get(f"/instruction/appels/{call_id}/{export}").status_code == 403
    sign_out(client)

    # Not blind: the reviewer reads the name (the hiding is the setting's doing).
    sign_in(client, officer)
    _settings(client, call_id, reviews_wanted="1")
    sign_out(client)
    sign_in(client, reviewer)
    open_review = client.get(f"/evaluation/{assignment}").text
    assert (
        "Les Zéphyrs Solidaires" in open_review and "Statuts Zephyrs Solidaires.pdf" in open_review
    )
    assert "RIB Zephyrs.pdf" in open_review
    sign_out(client)


def test_the_review_page_lays_the_file_and_the_form_side_by_side(client):
    _officer, reviewers, _call_id, _owner, files = setup_call(client, n_files=1)
    assignment = run(
        client,
        Assignment.insert(Assignment(application=files[0][0], reviewer=reviewers[0]["id"]))
        .returning(Assignment.id)
        .run,
    )[0]["id"]
    sign_in(client, reviewers[0])
    page = client.get(f"/evaluation/{assignment}").text
    assert 'class="review-layout"' in page
    assert page.index("review-layout__file") < page.index("review-layout__form")
    sign_out(client)
    css = (Path(__file__).parents[3] / "static" / "css" / "guichet.css").read_text()
    wide = css.split("@media (min-width: 1200px)")[1]
    assert ".review-layout { display: grid;" in wide
