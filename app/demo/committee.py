"""The 2017 Île-de-France call decided and followed: 19 awards of 26 M€, payments, reports."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import anyio

from app.accounts.services import (
    Actor,
    load_current_user,
    user_id_by_email,
)
from app.applications import services as applications
from app.applications.tables import Application
from app.calls import services as calls
from app.core.storage import FileStorage
from app.decisions import jobs as letters
from app.decisions import services as decisions
from app.demo.files import LAUREATES, award_euros, document_pdf
from app.demo.people import check
from app.demo.review import DEMO_REVIEWERS
from app.grants import agreements
from app.grants import batches as grant_batches
from app.grants import ledger as grant_ledger
from app.grants import notices as grant_notices
from app.grants import reports as grant_reports
from app.grants import services as grant_services
from app.grants.receipts import ReportReceipts
from app.grants.tables import Grant
from app.organisations.tables import Membership
from app.quotas import StorageLimits
from app.reviews import services as reviews
from app.reviews.tables import Assignment

REJECTION_REASONS = [
    "Le budget prévisionnel ne garantit pas la viabilité du projet au-delà de la première année.",
    "Le projet ne cible pas en priorité les demandeurs d'emploi peu qualifiés visés par l'appel.",
    "Les débouchés vers l'emploi à l'issue de la formation ne sont pas démontrés.",
    "Le projet, de qualité, est moins bien classé que les projets retenus dans la limite de l'enveloppe.",
]


async def decide_idf(call_id: int, officer: Actor, settings) -> None:
    """The 2017 committee: every file screened eligible and reviewed, 19 laureates for
    exactly 26 000 000 € (Le PoleS 200 000 € on a 50/30/20 schedule), the others
    rejected with a reason; published, letters written."""
    staff = await load_current_user(officer.user_id)
    files = (
        await Application.select(Application.id, Application.organisation.name.as_alias("name"))
        .where(Application.call == call_id)
        .order_by(Application.id)
    )
    await applications.screen(
        [f["id"] for f in files], "eligible", reason="", user=staff, actor=officer, base_url=""
    )
    await reviews.save_settings(
        call_id,
        {"reviews_wanted": "2", "rank_by": "mean", "visibility": "after_own", "threshold": "4"},
        actor=officer,
    )
    for email in ("evaluation@demo.guichet.test", *(e for e, _n in DEMO_REVIEWERS)):
        await reviews.add_to_pool(call_id, await user_id_by_email(email), actor=officer)
    plan = await reviews.preview(call_id)
    await reviews.apply_preview(call_id, plan.fingerprint, actor=officer)
    call = await calls.get_call(call_id)
    keys = [c["key"] for c in call["rubric"]]
    rank = {f["id"]: i for i, f in enumerate(files)}  # Le PoleS first, then OTHER's order
    for assignment in await Assignment.select(
        Assignment.id, Assignment.application, Assignment.reviewer
    ).where(Assignment.application.is_in(list(rank))):
        i = rank[assignment["application"]]
        laureate = i <= LAUREATES
        marks = (5, 5, 4, 5) if i == 0 else ((4, 4, 4, 3) if laureate else (2, 3, 2, 2))
        reviewer = await load_current_user(assignment["reviewer"])
        raw = {f"score_{k}": str(m) for k, m in zip(keys, marks, strict=False)}
        raw.update(
            opinion="favourable" if laureate else "unfavourable",
            comment_staff="Projet solide, public bien ciblé." if laureate else "Projet fragile.",
            comment_applicant=(
                "Un projet clair, avec des partenaires identifiés."
                if laureate
                else "Le lien entre la formation et l'emploi visé mérite d'être précisé."
            )
            if reviewer.email == "evaluation@demo.guichet.test"
            else (
                "Des objectifs chiffrés et un suivi des stagiaires convaincants."
                if laureate
                else "Le budget repose sur des cofinancements encore incertains."
            ),
        )
        await reviews.save_review(
            assignment["id"],
            raw,
            reviewer=reviewer,
            submit=True,
            actor=Actor(user_id=reviewer.id, label=reviewer.email),
        )
    await decisions.save_settings(
        call_id,
        {
            "deliberation_reference": "CP 2017-123",
            "deliberation_date": "2017-05-17",
            "place": "Saint-Ouen-sur-Seine",
            # No signatory of its own: the funder's, by delegation (FUNDER_LEGAL).
            "schedule_preset": "50-30-20",
            "share_reviews": "yes",
        },
        actor=officer,
    )
    for f in files:
        i = rank[f["id"]]
        if i == 0:
            amount = 20_000_000
        elif (award := award_euros(i)) is not None:
            amount = award * 100
        else:
            amount = None
        if amount is not None:
            await decisions.decide(
                f["id"], outcome="award", amount=amount, reason="", actor=officer
            )
        else:
            reason = REJECTION_REASONS[i % len(REJECTION_REASONS)]
            await decisions.decide(
                f["id"], outcome="reject", amount=None, reason=reason, actor=officer
            )
    await decisions.publish(call_id, (await decisions.pending(call_id)).token, actor=officer)
    await letters.run_pending(
        storage=FileStorage.from_settings(settings),
        base_url=settings.base_url,
        data_dir=settings.data_dir,
    )


DEMO_REPORT_DOCUMENTS = {
    "activity": ("Rapport d'activité", "rapport-activite.pdf"),
    "expenses": ("État récapitulatif des dépenses", "etat-des-depenses.pdf"),
}


async def follow_idf(call_id: int, officer: Actor, storage: FileStorage, settings) -> None:
    """The 2017 grants at various stages: Le PoleS accepted, paid 100 000 € then, after
    its approved interim report, 60 000 €; other laureates accepted and partly paid, or
    not yet accepted; one whose final report shows much lower spending, reduced, with a
    recovery open."""
    finance_id = await user_id_by_email("finances@demo.guichet.test")
    finance = Actor(user_id=finance_id, label="finances@demo.guichet.test")
    grants_ = (
        await Grant.select(
            Grant.id,
            Grant.application,
            Grant.amount_cents,
            Grant.organisation,
            Grant.application.budget.as_alias("budget"),
            Grant.application.requested_cents.as_alias("requested"),
        )
        .where(Grant.call == call_id)
        .order_by(Grant.application)
    )

    async def accept(grant: dict, deadlines: bool = True, online: bool = False) -> Actor:
        owner = (
            await Membership.select(Membership.user, Membership.user.email.as_alias("email"))
            .where(Membership.organisation == grant["organisation"])
            .first()
        )
        member = Actor(user_id=owner["user"], label=owner["email"], ip="192.0.2.10")
        await grant_services.accept(
            grant["id"],
            signatory_name="Présidence Démo",
            signatory_capacity="Président·e",
            conditions_ticked=True,
            user_id=owner["user"],
            actor=member,
        )
        # Above 23 000 €, the signed agreement comes before the first instalment: Le
        # PoleS's is generated and signed online by both sides (its evidence page), the
        # others' scans were uploaded and accepted by the officer.
        if online:
            await sign_online(grant, owner["user"], member)
        else:
            stored = await anyio.to_thread.run_sync(
                lambda: storage.store_bytes(
                    document_pdf("Convention signée"), filename="convention.pdf", kinds={"pdf"}
                )
            )
            agreement_id = await agreements.receive_upload(
                grant["id"],
                storage_id=stored.storage_id,
                name=stored.filename,
                sha256=stored.sha256,
                actor=member,
            )
            await agreements.check_upload(
                grant["id"], agreement_id, accept=True, reason="", files=storage, actor=officer
            )
        # Signed in June 2017 in the story (the open-data file's « dateConvention »); the
        # one signed online keeps the date of its signatures (its evidence page's).
        if not online:
            await Grant.update(
                {Grant.agreement_uploaded_at: datetime(2017, 6, 20, 10, tzinfo=UTC)}
            ).where(Grant.id == grant["id"])
        if deadlines:
            await grant_services.set_deadlines(
                grant["id"], date(2018, 1, 31), date(2018, 12, 31), actor=officer
            )
        return member

    async def sign_online(grant: dict, member_id: int, member: Actor) -> None:
        agreement_id = await agreements.generate(grant["id"], files=storage, actor=officer)
        record = await agreements.agreement_of(grant["id"], agreement_id)
        # The code e-mailed to the representative, as they would type it.
        await agreements.demo_code(agreement_id, member_id, "424242")
        await agreements.sign(
            grant["id"],
            agreement_id,
            user=await load_current_user(member_id),
            name="Présidence Démo",
            capacity="Président·e",
            consent=True,
            sha256=record.document_sha256,
            code="424242",
            files=storage,
            actor=member,
        )
        await agreements.countersign(
            grant["id"],
            agreement_id,
            user=await load_current_user(officer.user_id),
            capacity="Chargée de mission, par délégation de la présidente du conseil régional",
            consent=True,
            files=storage,
            actor=officer,
        )

    async def pay(grant: dict, position: int, value_date: date, mandate: str) -> None:
        part = (await grant_services.instalments(grant["id"]))[position - 1]
        await grant_services.transition_instalment(
            grant["id"], part.id, "approve", role="officer", actor=officer
        )
        await grant_ledger.record_payment(
            grant["id"],
            part.id,
            amount_cents=part.amount_cents,
            value_date=value_date,
            reference=mandate,
            idempotency_key=f"demo-{grant['id']}-{position}",
            actor=finance,
        )

    async def report(grant: dict, member: Actor, kind: str, spent_percent: int) -> None:
        budget = (
            json.loads(grant["budget"]) if isinstance(grant["budget"], str) else grant["budget"]
        )
        values = {
            "narrative": "Les sessions prévues ont eu lieu ; les stagiaires ont suivi le parcours "
            "et la plupart ont trouvé un emploi ou une formation qualifiante.",
            **{
                grant_reports.field_name("charges", line): str(cents * spent_percent // 10_000)
                for line, cents in budget.get("charges", {}).items()
            },
        }
        # Its required documents (the activity report, the statement of expenses…).
        draft = await grant_reports.report_of(grant["id"], kind)
        for document in grant_reports.DOCUMENTS[kind]:
            if not document.required:
                continue
            title, name = DEMO_REPORT_DOCUMENTS[document.key]
            stored = await anyio.to_thread.run_sync(
                lambda title=title, name=name: storage.store_bytes(
                    document_pdf(title), filename=name, kinds={"pdf"}
                )
            )
            await grant_reports.add_attachment(
                draft.id,
                stored,
                document=document.key,
                user_id=member.user_id,
                actor=member,
                limits=StorageLimits.from_settings(settings),
            )
        record = await grant_services.get_grant(grant["id"])
        typed, _refused = grant_reports.parse_actuals(
            values, grant_reports.statement(record.budget, record.requested_cents, {})
        )
        shown = grant_reports.effect(record, typed)
        errors = await grant_reports.save(
            grant["id"],
            kind,
            values,
            submit=True,
            confirmed=True,
            user_id=member.user_id,
            actor=member,
            previewed=str(shown.actual_cents) if shown else None,
            receipts=ReportReceipts(settings),
        )
        check(errors)
        await grant_reports.review(
            grant["id"], kind, approve=True, message="", actor=officer, base_url=""
        )

    batched: list[int] = []
    for n, grant in enumerate(grants_):
        if n == 0:  # Le PoleS
            member = await accept(grant, online=True)
            await pay(grant, 1, date(2017, 7, 3), "M-2017-04512")
            await report(grant, member, "interim", 100)
            await pay(grant, 2, date(2018, 2, 15), "M-2018-00871")
        elif n == 1:  # spent far less than planned: reduced, paid too much
            member = await accept(grant)
            await pay(grant, 1, date(2017, 7, 10), f"M-2017-0{4600 + n}")
            await report(grant, member, "interim", 100)
            await pay(grant, 2, date(2018, 3, 1), f"M-2018-0{900 + n}")
            await report(grant, member, "final", 60)
            await grant_reports.apply_final_reduction(grant["id"], actor=officer)
            await grant_notices.issue_reduction_notice(
                grant["id"],
                storage=storage,
                base_url="",
                actor=officer,
                today=datetime(2019, 3, 4, 10, tzinfo=UTC),
            )
        elif n < 6:  # accepted, first instalment paid (a few with report deadlines)
            await accept(grant, deadlines=n < 5)
            await pay(grant, 1, date(2017, 7 + n % 4, 5 + n), f"M-2017-0{4600 + n}")
        elif n < 12:  # accepted, first instalment approved, paid below in one batch
            await accept(grant, deadlines=False)
            part = (await grant_services.instalments(grant["id"]))[0]
            await grant_services.transition_instalment(
                grant["id"], part.id, "approve", role="officer", actor=officer
            )
            batched.append(part.id)
        elif n < 16:  # accepted, first instalment approved, waiting for payment
            await accept(grant, deadlines=False)
            part = (await grant_services.instalments(grant["id"]))[0]
            await grant_services.transition_instalment(
                grant["id"], part.id, "approve", role="officer", actor=officer
            )
    # Finance's payment batch of September 2017 (« Lots de mandatement »): exported for
    # the accounting system, then marked paid with the batch's mandate number.
    if batched:
        batch_id = await grant_batches.create_batch(batched, actor=finance)
        await grant_batches.export_rows(batch_id, actor=finance)
        await grant_batches.mark_paid(
            batch_id,
            value_date=date(2017, 9, 15),
            mandate_reference="M-2017-05120",
            line_mandates={},
            actor=finance,
        )
