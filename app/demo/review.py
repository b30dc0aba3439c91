"""The Centre-Val de Loire call under review: reviewers, assignments and marks."""

from __future__ import annotations

from app.accounts.services import (
    Actor,
    create_user,
    load_current_user,
    user_id_by_email,
)
from app.accounts.tables import StaffRole
from app.applications import services as applications
from app.applications.tables import Application
from app.calls import services as calls
from app.demo.people import DEMO_PASSWORD
from app.reviews import services as reviews
from app.reviews.tables import Assignment

DEMO_REVIEWERS = [
    ("relecture1@demo.guichet.test", "Évaluateur Démo Un"),
    ("relecture2@demo.guichet.test", "Évaluatrice Démo Deux"),
]


async def review_demo(call_id: int, officer: Actor) -> None:
    """Screening and review of the open Centre-Val de Loire call: three reviewers, one
    declared conflict, assignments, submitted and draft reviews, one split decision."""
    staff = await load_current_user(officer.user_id)
    submitted = (
        await Application.select(Application.id, Application.organisation)
        .where((Application.call == call_id) & (Application.status == "submitted"))
        .order_by(Application.id)
    )
    await applications.screen(
        [a["id"] for a in submitted], "eligible", reason="", user=staff, actor=officer, base_url=""
    )
    await reviews.save_settings(
        call_id,
        {"reviews_wanted": "2", "rank_by": "mean", "visibility": "after_own", "threshold": "4"},
        actor=officer,
    )
    for email, name in DEMO_REVIEWERS:
        await create_user(
            email=email, full_name=name, password=DEMO_PASSWORD, roles=[StaffRole.reviewer]
        )
    pool = [
        await user_id_by_email(e)
        for e in ("evaluation@demo.guichet.test", *(e for e, _n in DEMO_REVIEWERS))
    ]
    for reviewer_id in pool:
        await reviews.add_to_pool(call_id, reviewer_id, actor=officer)
    # The demo reviewer was a volunteer at the first file's organisation.
    await reviews.record_conflict(
        pool[0], submitted[0]["organisation"], "Ancien bénévole de la structure", actor=officer
    )
    plan = await reviews.preview(call_id)
    await reviews.apply_preview(call_id, plan.fingerprint, actor=officer)
    call = await calls.get_call(call_id)
    keys = [c["key"] for c in call["rubric"]]
    assignments = (
        await Assignment.select(Assignment.id, Assignment.application, Assignment.reviewer)
        .where(Assignment.application.is_in([a["id"] for a in submitted]))
        .order_by(Assignment.id)
    )
    split = submitted[1]["id"]
    split_seen = False
    for i, assignment in enumerate(assignments):
        reviewer = await load_current_user(assignment["reviewer"])
        actor = Actor(user_id=reviewer.id, label=reviewer.email)
        if assignment["application"] == split:
            # A split decision: one reviewer loves it, the other does not.
            marks = (5, 5, 5, 5) if not split_seen else (1, 1, 2, 1)
            split_seen = True
            submit = True
        else:
            marks = (3 + i % 3, 4, 2 + i % 4, 3)
            submit = i % 4 != 3  # a few stay drafts
        raw = {f"score_{k}": str(min(m, 5)) for k, m in zip(keys, marks, strict=False)}
        raw.update(
            opinion="favourable" if sum(marks) >= 12 else "reserved",
            comment_staff="Projet solide, public bien ciblé."
            if sum(marks) >= 12
            else "Budget fragile.",
        )
        await reviews.save_review(
            assignment["id"], raw, reviewer=reviewer, submit=submit, actor=actor
        )
    # A reviewer gives a file back for a conflict: the officers' « À traiter » shows the
    # review missing, the file « 1 évaluation sur 2 », the automatic assignment a
    # replacement.
    draft = (
        await Assignment.select(Assignment.id, Assignment.reviewer)
        .where(
            Assignment.application.is_in([a["id"] for a in submitted])
            & Assignment.submitted_at.is_null()
            & (Assignment.reviewer != pool[0])
            # Not the file the demo reviewer is conflicted with: a replacement exists.
            & (Assignment.application != submitted[0]["id"])
        )
        .order_by(Assignment.id)
        .first()
    )
    if draft:
        reviewer = await load_current_user(draft["reviewer"])
        await reviews.decline_with_conflict(
            draft["id"],
            "Membre du conseil d'administration de la structure",
            reviewer=reviewer,
            actor=Actor(user_id=reviewer.id, label=reviewer.email),
        )
