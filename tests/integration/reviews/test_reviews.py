"""Review: automatic assignment with a conflict respected, scoring rules, ranking."""

import json
from datetime import UTC, datetime

import pytest

from app.applications.tables import Application
from app.calls import services as calls
from app.calls.tables import Call
from app.reviews import routes as review_routes
from app.reviews.tables import Assignment
from tests.factories import (
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


def refresh_marks_of(client, call_id):
    """Reviews written past the services (an import, a repair): the call's marks
    follow, as a write does (the ranking only reads them)."""
    from app.core.db import write_transaction
    from app.reviews.marks import refresh_marks

    async def refresh():
        async with write_transaction():
            await refresh_marks(call_id)

    run(client, refresh)


def setup_call(client, n_files=4):
    officer = make_user(client, roles=["officer"])
    reviewers = [make_user(client, roles=["reviewer"]) for _ in range(2)]
    call_id = make_call(client, officer, publish=True)
    actor = calls.Actor(user_id=officer["id"])
    for title, weight, scale in (("Qualité", "3", "5"), ("Budget", "1", "20")):
        run(
            client,
            calls.add_criterion,
            call_id,
            {"title": title, "weight": weight, "scale": scale},
            actor=actor,
        )
    owner = make_user(client)
    document = run(client, calls.get_call, call_id)["documents"][0]["key"]
    files = []
    for _ in range(n_files):
        org = make_organisation(client, owner)
        app_id = make_application(client, owner, org, call_id)
        attach_pdf(client, owner, app_id, document)
        run(
            client,
            lambda a=app_id: (
                Application.update(
                    {Application.status: "eligible", Application.reference: f"R-{a:05d}"}
                )
                .where(Application.id == a)
                .run()
            ),
        )
        files.append((app_id, org))
    return officer, reviewers, call_id, owner, files


def test_auto_assignment_respects_a_conflict_and_balances(client):
    officer, reviewers, call_id, _owner, files = setup_call(client)
    third = make_user(client, roles=["reviewer"])
    sign_in(client, officer)
    post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation",
        {"reviews_wanted": "2", "rank_by": "median", "visibility": "after_own", "threshold": "4"},
    )
    for person in [*reviewers, third]:
        post_form(
            client,
            f"/instruction/appels/{call_id}/evaluation/evaluateurs",
            {"reviewer": str(person["id"])},
        )
    conflicted_app, conflicted_org = files[0]
    post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/conflits",
        {
            "reviewer": str(reviewers[0]["id"]),
            "organisation": str(conflicted_org),
            "reason": "Ancien salarié",
        },
    )
    preview = client.get(f"/instruction/appels/{call_id}/evaluation/affectation")
    assert "8 nouvelles affectations." in preview.text
    import re

    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', preview.text).group(1)
    of_call = Assignment.count().where(Assignment.application.call == call_id)
    assert run(client, of_call.run) == 0  # a preview saves nothing
    saved = post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/affectation",
        {"fingerprint": fingerprint},
    )
    assert saved.status_code == 303
    pairs = run(
        client,
        lambda: (
            Assignment.select(Assignment.application, Assignment.reviewer)
            .where(Assignment.application.call == call_id)
            .run()
        ),
    )
    assert len(pairs) == 8
    assert (conflicted_app, reviewers[0]["id"]) not in {
        (p["application"], p["reviewer"]) for p in pairs
    }
    loads = [sum(1 for p in pairs if p["reviewer"] == r["id"]) for r in [*reviewers, third]]
    assert max(loads) - min(loads) <= 1
    # One audit entry for the plan, on the call, listing every pair (files by reviewer).
    from app.core.tables import AuditEntry

    entries = run(
        client,
        lambda: (
            AuditEntry.select(AuditEntry.object_type, AuditEntry.object_id, AuditEntry.summary)
            .where(AuditEntry.action == "reviews.auto_assigned")
            .run()
        ),
    )
    assert [(e["object_type"], e["object_id"]) for e in entries] == [("call", str(call_id))]
    listed = json.loads(entries[0]["summary"])["files_by_reviewer"]
    assert {(a, int(r)) for r, apps in listed.items() for a in apps} == {
        (p["application"], p["reviewer"]) for p in pairs
    }
    assert (
        post_form(
            client,
            f"/instruction/appels/{call_id}/evaluation/affectation",
            {"fingerprint": fingerprint},
            follow_redirects=True,
        ).text.count("a changé")
        == 1
    )
    sign_out(client)

    # The conflicted reviewer can never open that file, even with a forged assignment.
    forged = run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=conflicted_app, reviewer=reviewers[0]["id"]))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]
    from app.applications.tables import Attachment

    attachment = run(
        client,
        lambda: (
            Attachment.select(Attachment.id)
            .where(Attachment.application == conflicted_app)
            .first()
            .run()
        ),
    )["id"]
    sign_in(client, reviewers[0])
    assert client.get(f"/evaluation/{forged}").status_code == 404
    assert client.get(f"/evaluation/{forged}/pieces/{attachment}").status_code == 404
    assert client.get(f"/dossiers/{conflicted_app}/pieces/{attachment}").status_code == 404
    assert f"R-{conflicted_app:05d}" not in client.get("/evaluation").text
    sign_out(client)


def test_scores_are_checked_and_a_submitted_review_is_final(client):
    _officer, reviewers, call_id, _owner, files = setup_call(client, n_files=1)
    app_id = files[0][0]
    assignment = run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=app_id, reviewer=reviewers[0]["id"]))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    budget = {"charges": {"64": 30_000_000}, "produits": {"74_etat": 10_000_000}}
    run(
        client,
        Application.update(
            {Application.budget: json.dumps(budget), Application.requested_cents: 20_000_000}
        )
        .where(Application.id == app_id)
        .run,
    )
    sign_in(client, reviewers[0])
    page = client.get(f"/evaluation/{assignment}")
    assert page.status_code == 200 and "Qualité (0 à 5, poids 3)" in page.text
    # The reviewer reads the forecast budget line by line (to judge its soundness).
    budget_text = text_of(page.text.split('id="budget-title"')[1]).replace("\u202f", " ")
    for line in ("64 – Charges de personnel 300 000,00", "74 – État 100 000,00", "200 000,00"):
        assert line in budget_text, line
    out_of_scale = post_form(
        client, f"/evaluation/{assignment}", {f"score_{keys[0]}": "6", "action": "save"}
    )
    # Above the scale: the message says the maximum, named after its criterion.
    assert out_of_scale.status_code == 422 and "entre 0 et 5." in out_of_scale.text
    assert "Qualité : Cette note dépasse le maximum" in text_of(out_of_scale.text)
    draft = post_form(
        client, f"/evaluation/{assignment}", {f"score_{keys[0]}": "4", "action": "save"}
    )
    assert draft.status_code == 303
    incomplete = post_form(
        client, f"/evaluation/{assignment}", {f"score_{keys[0]}": "4", "action": "submit"}
    )
    assert (
        incomplete.status_code == 422
        and "Donnez une note" in incomplete.text
        and "avis général" in incomplete.text
    )
    done = post_form(
        client,
        f"/evaluation/{assignment}",
        {
            f"score_{keys[0]}": "4",
            f"score_{keys[1]}": "10",
            "opinion": "favourable",
            "action": "submit",
        },
    )
    assert done.status_code == 303
    again = post_form(
        client,
        f"/evaluation/{assignment}",
        {
            f"score_{keys[0]}": "5",
            f"score_{keys[1]}": "10",
            "opinion": "favourable",
            "action": "submit",
        },
    )
    assert again.status_code == 422 and "rouvrir" in again.text
    dashboard = client.get("/evaluation").text
    # A review is « remise », never an application's « déposé ».
    assert "1 sur 1" in dashboard and ">remise<" in dashboard
    assert "déposé" not in dashboard
    sign_out(client)


def test_ranking_shows_marks_out_of_20_and_flags_disagreement(client):
    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=1)
    app_id = files[0][0]
    run(
        client,
        lambda: (
            Application.update({Application.status: "in_review"})
            .where(Application.id == app_id)
            .run()
        ),
    )
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    # Weights 3 (0–5) and 1 (0–20): 5/5 and 20/20 → 20; 1/5 and 4/20 → 4.
    for reviewer, marks in ((reviewers[0], (5, 20)), (reviewers[1], (1, 4))):
        run(
            client,
            lambda r=reviewer, m=marks: Assignment.insert(
                Assignment(
                    application=app_id,
                    reviewer=r["id"],
                    scores={keys[0]: m[0], keys[1]: m[1]},
                    submitted_at=datetime.now(UTC),
                )
            ).run(),
        )
    refresh_marks_of(client, call_id)
    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}/classement").text
    assert "12,00" in page  # mean of 20 and 4
    assert "16,00" in page  # spread
    assert "désaccord" in page
    summary = client.get(f"/instruction/dossiers/{app_id}/evaluations").text
    assert "3,00 / 5" in summary  # Qualité: (5 + 1) / 2
    assert "12,00 / 20 · 60,00 / 100" in summary  # mean, out of 20 and out of 100
    assert "2 évaluations remises." in summary
    assert summary.count("évaluation remise le") == 2 and "déposé le" not in summary
    sign_out(client)


def test_a_reviewer_declines_with_a_conflict_and_an_officer_reopens_a_review(client):
    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=2)
    first = run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=files[0][0], reviewer=reviewers[0]["id"]))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]
    second = run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=files[1][0], reviewer=reviewers[0]["id"]))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    sign_in(client, reviewers[0])
    total = post_form(
        client, f"/evaluation/{first}/total", {f"score_{keys[0]}": "5", f"score_{keys[1]}": "20"}
    )
    assert "20,00 / 20" in total.text
    # The link must be said (for the officers): without it, nothing is recorded.
    unsaid = post_form(client, f"/evaluation/{first}/conflit", {"reason": "  "})
    assert unsaid.headers["location"] == f"/evaluation/{first}"
    assert "Dites ce qui vous lie" in client.get(f"/evaluation/{first}").text
    declined = post_form(client, f"/evaluation/{first}/conflit", {"reason": "Je suis adhérent"})
    assert declined.status_code == 303
    assert client.get(f"/evaluation/{first}").status_code == 404
    post_form(
        client,
        f"/evaluation/{second}",
        {
            f"score_{keys[0]}": "3",
            f"score_{keys[1]}": "10",
            "opinion": "reserved",
            "action": "submit",
        },
    )
    sign_out(client)
    from app.reviews.tables import Conflict

    assert (
        run(client, lambda: Conflict.count().where(Conflict.reviewer == reviewers[0]["id"]).run())
        == 1
    )
    sign_in(client, officer)
    page = client.get(f"/instruction/dossiers/{files[1][0]}/evaluations").text
    assert "11,50 / 20" in page  # weights 3 and 1: (3/5 × 3 + 10/20 × 1) / 4 × 20
    # The declined file's page tells the officer who declared what.
    declined_page = text_of(client.get(f"/instruction/dossiers/{files[0][0]}/evaluations").text)
    assert "Conflits d’intérêts avec cette structure" in declined_page
    assert f"{reviewers[0]['full_name']} — Je suis adhérent" in declined_page
    assert f"/instruction/evaluations/{second}/retirer" not in page  # submitted: reopen only
    assert post_form(client, f"/instruction/evaluations/{second}/rouvrir").status_code == 303
    # A draft again: nothing more to reopen (a second click says so); it can be taken back.
    again = post_form(
        client, f"/instruction/evaluations/{second}/rouvrir", follow_redirects=True
    ).text
    assert "il n’y a rien à rouvrir" in again
    assert f"/instruction/evaluations/{second}/retirer" in again
    assert f"/instruction/evaluations/{second}/rouvrir" not in again
    sign_out(client)
    sign_in(client, reviewers[0])
    changed = post_form(
        client,
        f"/evaluation/{second}",
        {
            f"score_{keys[0]}": "4",
            f"score_{keys[1]}": "10",
            "opinion": "favourable",
            "action": "submit",
        },
    )
    assert changed.status_code == 303
    sign_out(client)


def test_other_reviews_are_shown_only_as_the_call_says(client):
    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=1)
    app_id = files[0][0]
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    mine, theirs = (
        run(
            client,
            lambda r=r: (
                Assignment.insert(Assignment(application=app_id, reviewer=r["id"]))
                .returning(Assignment.id)
                .run()
            ),
        )[0]["id"]
        for r in reviewers
    )
    sign_in(client, reviewers[1])
    post_form(
        client,
        f"/evaluation/{theirs}",
        {
            f"score_{keys[0]}": "2",
            f"score_{keys[1]}": "3",
            "opinion": "unfavourable",
            "comment_staff": "Budget fragile",
            "action": "submit",
        },
    )
    sign_out(client)
    sign_in(client, reviewers[0])
    assert "Budget fragile" not in client.get(f"/evaluation/{mine}").text  # after_own: not yet
    post_form(
        client,
        f"/evaluation/{mine}",
        {
            f"score_{keys[0]}": "4",
            f"score_{keys[1]}": "15",
            "opinion": "favourable",
            "action": "submit",
        },
    )
    assert "Budget fragile" in client.get(f"/evaluation/{mine}").text
    sign_out(client)
    sign_in(client, officer)
    post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation",
        {"reviews_wanted": "2", "rank_by": "mean", "visibility": "never", "threshold": "4"},
    )
    sign_out(client)
    sign_in(client, reviewers[0])
    assert "Budget fragile" not in client.get(f"/evaluation/{mine}").text
    sign_out(client)


def test_manual_assignment_refuses_a_conflict_and_scores_export(client):
    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=3)
    sign_in(client, officer)
    for person in reviewers:
        post_form(
            client,
            f"/instruction/appels/{call_id}/evaluation/evaluateurs",
            {"reviewer": str(person["id"])},
        )
    post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/conflits",
        {"reviewer": str(reviewers[0]["id"]), "organisation": str(files[0][1])},
    )
    # Several files at once: all or none, and the refusal names the file.
    refused = post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/affectation-manuelle",
        {"application": [str(files[2][0]), str(files[0][0])], "reviewer": str(reviewers[0]["id"])},
        follow_redirects=True,
    )
    assert f"R-{files[0][0]:05d} : " in refused.text
    assert "conflit d’intérêts avec cette structure" in refused.text
    theirs = Assignment.reviewer == reviewers[0]["id"]
    assert run(client, lambda: Assignment.count().where(theirs).run()) == 0
    ok = post_form(
        client,
        f"/instruction/appels/{call_id}/evaluation/affectation-manuelle",
        {"application": [str(files[1][0]), str(files[2][0])], "reviewer": str(reviewers[0]["id"])},
        follow_redirects=True,
    )
    assert "Les 2 dossiers sont confiés à cet évaluateur." in ok.text
    assert run(client, lambda: Assignment.count().where(theirs).run()) == 2
    assignment = run(
        client,
        lambda: (
            Assignment.select(Assignment.id)
            .where(Assignment.application == files[1][0])
            .first()
            .run()
        ),
    )["id"]
    sign_out(client)
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    sign_in(client, reviewers[0])
    post_form(
        client,
        f"/evaluation/{assignment}",
        {
            f"score_{keys[0]}": "5",
            f"score_{keys[1]}": "20",
            "opinion": "favourable",
            "comment_staff": "=cmd()",
            "action": "submit",
        },
    )
    sign_out(client)
    sign_in(client, officer)
    export = (
        client.get(f"/instruction/appels/{call_id}/classement/evaluations.csv")
        .text.lstrip("\ufeff")
        .splitlines()
    )
    assert export[0].startswith(
        "Numéro de dossier;Structure;Évaluateur·rice;Qualité;Budget;Note /20"
    )
    assert ";20,00;favorable;favourable;'=cmd()" in export[1]
    assert export[1].endswith(";'=cmd();")  # an empty comment stays empty, not « ' »
    import io

    from openpyxl import load_workbook

    workbook = client.get(f"/instruction/appels/{call_id}/classement/evaluations.xlsx")
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    row = [c.value for c in sheet[2]]
    assert row[5] == 20 and row[8] == "'=cmd()" and sheet.cell(2, 9).data_type == "s"
    sign_out(client)


def test_reminders_go_once_before_and_once_after_the_due_date(client):
    from datetime import UTC, datetime, timedelta

    from app.reviews import services
    from app.reviews.tables import ReviewSettings
    from tests.factories import emails_to

    _officer, reviewers, call_id, _owner, files = setup_call(client, n_files=2)
    due = datetime.now(UTC) + timedelta(days=2)
    run(client, lambda: ReviewSettings.insert(ReviewSettings(call=call_id, due_at=due)).run())
    pending = run(
        client,
        lambda: Assignment.insert(
            Assignment(application=files[0][0], reviewer=reviewers[0]["id"])
        ).run(),
    )
    done = run(
        client,
        lambda: Assignment.insert(
            Assignment(
                application=files[1][0], reviewer=reviewers[1]["id"], submitted_at=datetime.now(UTC)
            )
        ).run(),
    )
    assert pending and done
    assert run(client, services.send_reminders, base_url="https://g.test") == 1
    assert run(client, services.send_reminders, base_url="https://g.test") == 0  # once
    assert (
        run(client, services.send_reminders, due + timedelta(hours=1), base_url="https://g.test")
        == 1
    )
    assert (
        run(client, services.send_reminders, due + timedelta(hours=2), base_url="https://g.test")
        == 0
    )
    templates = [m["template"] for m in emails_to(client, reviewers[0]["email"])]
    assert templates == ["review_reminder_before", "review_reminder_after"]
    assert emails_to(client, reviewers[1]["email"]) == []


def test_ranking_filters_by_disagreement_and_reviewer(client, monkeypatch):
    from datetime import UTC, datetime

    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=2)
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    split, calm = files[0][0], files[1][0]
    for app_id, marks in ((split, ((5, 20), (0, 0))), (calm, ((3, 10), (3, 12)))):
        run(
            client,
            lambda a=app_id: (
                Application.update({Application.status: "in_review"})
                .where(Application.id == a)
                .run()
            ),
        )
        for reviewer, mark in zip(reviewers, marks, strict=True):
            run(
                client,
                lambda a=app_id, r=reviewer, m=mark: Assignment.insert(
                    Assignment(
                        application=a,
                        reviewer=r["id"],
                        scores={keys[0]: m[0], keys[1]: m[1]},
                        submitted_at=datetime.now(UTC),
                    )
                ).run(),
            )
    refresh_marks_of(client, call_id)
    sign_in(client, officer)
    flagged = client.get(
        f"/instruction/appels/{call_id}/classement", params={"desaccord": "1"}
    ).text
    assert f"R-{split:05d}" in flagged and f"R-{calm:05d}" not in flagged
    by_reviewer = client.get(
        f"/instruction/appels/{call_id}/classement", params={"evaluateur": str(reviewers[0]["id"])}
    ).text
    assert f"R-{split:05d}" in by_reviewer and f"R-{calm:05d}" in by_reviewer
    # One file per page: the second page keeps the sort and the filters.
    monkeypatch.setattr(review_routes, "RANKING_PAGE", 1)
    url = f"/instruction/appels/{call_id}/classement"
    first = client.get(url, params={"tri": "reference", "page": "abc"}).text
    assert f"R-{split:05d}" in first and f"R-{calm:05d}" not in first
    assert "tri=reference&amp;page=2" in first
    second = client.get(url, params={"tri": "reference", "page": "2"}).text
    assert f"R-{calm:05d}" in second and f"R-{split:05d}" not in second
    assert "Page 2 sur 2" in second
    sign_out(client)


def test_a_reviewer_declares_a_link_in_advance_and_loses_that_file(client):
    from app.organisations.tables import Organisation
    from app.reviews.tables import Conflict

    _officer, reviewers, _call_id, _owner, files = setup_call(client, n_files=2)
    (linked_app, linked_org), (other_app, _) = files
    pending = run(
        client,
        lambda: (
            Assignment.insert(
                Assignment(application=linked_app, reviewer=reviewers[0]["id"]),
                Assignment(application=other_app, reviewer=reviewers[0]["id"]),
            )
            .returning(Assignment.id)
            .run()
        ),
    )
    name = run(
        client,
        lambda: (
            Organisation.select(Organisation.name)
            .where(Organisation.id == linked_org)
            .first()
            .run()
        ),
    )["name"]
    sign_in(client, reviewers[0])
    found = client.get("/evaluation/liens", params={"q": name[2:-1].lower()}).text
    assert name in found
    # A link needs a reason; an organisation outside the search is refused.
    empty = post_form(client, "/evaluation/liens", {"organisation": str(linked_org), "q": name})
    assert "Dites ce qui vous lie" in client.get(empty.headers["location"]).text
    post_form(
        client, "/evaluation/liens", {"organisation": str(linked_org), "q": "zz", "reason": "x"}
    )
    mine = Conflict.reviewer == reviewers[0]["id"]
    assert run(client, lambda: Conflict.count().where(mine).run()) == 0
    declared = post_form(
        client,
        "/evaluation/liens",
        {"organisation": str(linked_org), "q": name, "reason": "Trésorier bénévole"},
    )
    assert declared.status_code == 303
    page = client.get("/evaluation/liens").text
    assert name in page and "Trésorier bénévole" in page
    # The unsubmitted assignment on the linked organisation's file is gone; the other stays.
    left = run(
        client,
        lambda: (
            Assignment.select(Assignment.application)
            .where(Assignment.reviewer == reviewers[0]["id"])
            .run()
        ),
    )
    assert [a["application"] for a in left] == [other_app]
    assert client.get(f"/evaluation/{pending[0]['id']}").status_code == 404
    assert client.get(f"/evaluation/{pending[1]['id']}").status_code == 200
    sign_out(client)


def test_each_files_stored_mark_follows_its_reviews_the_rubric_and_the_settings(client):
    """The ranking reads each file's mark as stored: whatever happens (reviews
    submitted, reopened, written without the services, settings changed), what it
    shows is what the file's reviews say now."""
    from app.accounts.services import Actor, load_current_user
    from app.reviews import ranking, scoring, services
    from app.reviews.tables import FileMark

    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=3)
    officer_actor = Actor(user_id=officer["id"])
    (first, _), (second, _), (third, _) = files
    for app_id in (first, second, third):
        run(
            client,
            lambda a=app_id: (
                Application.update({Application.status: "in_review"})
                .where(Application.id == a)
                .run()
            ),
        )
    assignments = {}
    for app_id in (first, second):
        for reviewer in reviewers:
            assignments[app_id, reviewer["id"]] = run(
                client,
                lambda a=app_id, r=reviewer: Assignment.insert(
                    Assignment(application=a, reviewer=r["id"])
                ).run(),
            )[0]["id"]
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]

    def submit(app_id, reviewer, marks):
        person = run(client, load_current_user, reviewer["id"])
        run(
            client,
            services.save_review,
            assignments[app_id, reviewer["id"]],
            {
                f"score_{keys[0]}": str(marks[0]),
                f"score_{keys[1]}": str(marks[1]),
                "opinion": "favourable",
            },
            reviewer=person,
            submit=True,
            actor=Actor(user_id=reviewer["id"]),
        )

    def shown_and_fresh():
        """Each ranked file's mark as shown, and as its reviews say it now."""
        call = run(client, calls.get_call, call_id)
        shown, fresh = {}, {}
        for row in run(client, ranking.ranked_files, call_id):
            a = row.aggregate
            shown[row.id] = (a.reviews, a.mean, a.median, a.spread, a.ranking, a.disagreement)
            reviews = run(client, scoring.reviews_of, row.id, call["rubric"])
            f = run(client, ranking.file_aggregate, call_id, call["rubric"], reviews)
            fresh[row.id] = (f.reviews, f.mean, f.median, f.spread, f.ranking, f.disagreement)
        return shown, fresh

    def rank_by(*, mean: bool, threshold: str):
        values = {"reviews_wanted": "2", "visibility": "after_own", "threshold": threshold}
        values["rank_by"] = "mean" if mean else "median"
        run(client, services.save_settings, call_id, values, actor=officer_actor)

    def stored(app_id):
        return run(
            client,
            lambda: (
                FileMark.select(FileMark.reviews, FileMark.ranking)
                .where(FileMark.application == app_id)
                .first()
                .run()
            ),
        )

    submit(first, reviewers[0], (5, 20))  # 20 / 20
    assert stored(first) == {"reviews": 1, "ranking": 2000}  # stored at submission
    submit(first, reviewers[1], (1, 4))  # 4 / 20
    submit(second, reviewers[0], (3, 10))  # 11.25 / 20
    assert stored(first) == {"reviews": 2, "ranking": 1200}
    shown, fresh = shown_and_fresh()
    assert shown == fresh and shown[first][4] == 12 and shown[third][0] == 0
    assert [r.id for r in run(client, ranking.ranked_files, call_id)] == [first, second, third]
    assert shown[first][5] is True  # 20 and 4: a spread of 16, over the threshold of 4
    rank_by(mean=True, threshold="20")
    shown, fresh = shown_and_fresh()
    assert shown == fresh and shown[first][5] is False

    # Reopened: the review no longer counts.
    run(client, scoring.reopen, assignments[first, reviewers[1]["id"]], actor=officer_actor)
    assert stored(first) == {"reviews": 1, "ranking": 2000}
    # Written without the services (an import, a repair): taken into account once the
    # settings change, as is the new ranking rule.
    run(
        client,
        lambda: Assignment.insert(
            Assignment(
                application=third,
                reviewer=reviewers[1]["id"],
                scores={keys[0]: 0, keys[1]: 0},
                submitted_at=datetime.now(UTC),
            )
        ).run(),
    )
    rank_by(mean=False, threshold="2")
    shown, fresh = shown_and_fresh()
    assert shown == fresh and shown[third][:2] == (1, 0)
    assert run(client, FileMark.count().where(FileMark.application.call == call_id).run) == 3


def test_the_rubric_stays_as_the_first_submitted_review_was_scored(client):
    from app.accounts.services import Actor

    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=1)
    app_id = files[0][0]
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    sign_in(client, officer)
    # A draft review does not lock it.
    assignment = run(
        client,
        lambda: Assignment.insert(
            Assignment(application=app_id, reviewer=reviewers[0]["id"])
        ).run(),
    )[0]["id"]
    sign_out(client)
    sign_in(client, reviewers[0])
    post_form(client, f"/evaluation/{assignment}", {f"score_{keys[0]}": "4", "action": "save"})
    sign_out(client)
    sign_in(client, officer)
    added = post_form(
        client,
        f"/instruction/appels/{call_id}/grille",
        {"title": "Impact", "weight": "1", "scale": "10"},
    )
    assert added.status_code == 303
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]
    sign_out(client)
    sign_in(client, reviewers[0])
    submitted = post_form(
        client,
        f"/evaluation/{assignment}",
        {**{f"score_{k}": "1" for k in keys}, "opinion": "favourable", "action": "submit"},
    )
    assert submitted.status_code == 303
    sign_out(client)
    sign_in(client, officer)
    refused = post_form(
        client,
        f"/instruction/appels/{call_id}/grille",
        {"title": "Innovation", "weight": "1", "scale": "10"},
    )
    assert refused.status_code == 422
    assert "ses critères ne peuvent plus changer" in refused.text
    post_form(client, f"/instruction/appels/{call_id}/grille/{keys[0]}/supprimer")
    assert [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]] == keys
    page = client.get(f"/instruction/appels/{call_id}").text
    assert "ses critères ne peuvent plus changer" in page
    assert "Ajouter le critère" not in page and "/supprimer" not in page
    with pytest.raises(calls.CallError) as refused_by_service:
        run(client, calls.remove_criterion, call_id, keys[0], actor=Actor(user_id=officer["id"]))
    assert refused_by_service.value.code == "rubric_locked"
    sign_out(client)


def test_a_file_is_reviewed_once_every_assigned_review_is_in_and_stays_ranked(client):
    from app.accounts.services import Actor, load_current_user
    from app.reviews import pool, scoring, services

    officer, reviewers, call_id, _owner, files = setup_call(client, n_files=1)
    app_id = files[0][0]
    officer_actor = Actor(user_id=officer["id"])
    third = make_user(client, roles=["reviewer"])
    for person in (*reviewers, third):
        run(client, services.add_to_pool, call_id, person["id"], actor=officer_actor)
    for reviewer in reviewers:
        run(
            client,
            pool.assign_manually,
            [app_id],
            reviewer["id"],
            call_id=call_id,
            actor=officer_actor,
        )
    keys = [c["key"] for c in run(client, calls.get_call, call_id)["rubric"]]

    def status():
        return run(
            client,
            lambda: (
                Application.select(Application.status).where(Application.id == app_id).first().run()
            ),
        )["status"]

    def submit(reviewer):
        assignment = run(
            client,
            lambda: (
                Assignment.select(Assignment.id)
                .where((Assignment.application == app_id) & (Assignment.reviewer == reviewer["id"]))
                .first()
                .run()
            ),
        )["id"]
        run(
            client,
            services.save_review,
            assignment,
            {f"score_{keys[0]}": "3", f"score_{keys[1]}": "12", "opinion": "favourable"},
            reviewer=run(client, load_current_user, reviewer["id"]),
            submit=True,
            actor=Actor(user_id=reviewer["id"]),
        )
        return assignment

    assert status() == "in_review"
    first = submit(reviewers[0])
    assert status() == "in_review"  # one review still to come
    submit(reviewers[1])
    assert status() == "reviewed"
    run(client, scoring.reopen, first, actor=officer_actor)
    assert status() == "in_review"
    submit(reviewers[0])
    assert status() == "reviewed"
    # A third opinion asked for (a disagreement, say): under review again until it is in.
    run(
        client,
        pool.assign_manually,
        [app_id],
        third["id"],
        call_id=call_id,
        actor=officer_actor,
    )
    assert status() == "in_review"
    submit(third)
    assert status() == "reviewed"
    # Decided, the file stays in the ranking, with its state.
    run(
        client,
        lambda: (
            Application.update({Application.status: "awarded"})
            .where(Application.id == app_id)
            .run()
        ),
    )
    sign_in(client, officer)
    page = client.get(f"/instruction/appels/{call_id}/classement")
    assert f"R-{app_id:05d}" in page.text and "subvention accordée" in page.text
    assert "au-delà de l’enveloppe" not in page.text
    run(client, Call.update({Call.envelope_cents: 100}).where(Call.id == call_id).run)
    run(
        client,
        Application.update({Application.requested_cents: 200}).where(Application.id == app_id).run,
    )
    over = client.get(f"/instruction/appels/{call_id}/classement").text
    assert "au-delà de l’enveloppe" in over  # said in words, not only by the row's colour
    only_awarded = client.get(f"/instruction/appels/{call_id}/classement?status=awarded").text
    assert f"R-{app_id:05d}" in only_awarded
    sign_out(client)


def test_a_blind_review_never_shows_the_organisation(client):
    from app.organisations.tables import Organisation
    from app.reviews.tables import ReviewSettings

    _officer, reviewers, call_id, _owner, files = setup_call(client, n_files=1)
    app_id, org = files[0]
    assignment = run(
        client,
        lambda: (
            Assignment.insert(Assignment(application=app_id, reviewer=reviewers[0]["id"]))
            .returning(Assignment.id)
            .run()
        ),
    )[0]["id"]
    name = run(
        client, Organisation.select(Organisation.name).where(Organisation.id == org).first().run
    )["name"]
    sign_in(client, reviewers[0])
    assert name in client.get(f"/evaluation/{assignment}").text
    run(client, ReviewSettings.insert(ReviewSettings(call=call_id, blind=True)).run)
    page = client.get(f"/evaluation/{assignment}")
    assert page.status_code == 200 and name not in page.text
    sign_out(client)
