"""Review pages: officers set up the review of a call and assign reviewers; reviewers
score their files; officers read the ranking."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import File, Redirect, Stream, Template

from app import versions
from app.accounts.guards import requires
from app.applications import budget as budgets
from app.applications import services as applications
from app.applications import states as application_states
from app.applications.deps import visible_application
from app.calls import formspec
from app.calls import services as calls
from app.core.audit import Actor
from app.core.exports import table_response
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import ngettext
from app.core.numbers import whole_number
from app.core.storage import FileStorage
from app.core.time import now, paris_input
from app.core.web import act, flash, kept_part, path_to, render
from app.permissions import funders_for
from app.reviews import conflicts, notices, pool, progress, ranking, scoring
from app.reviews.errors import ReviewError
from app.reviews.scoring import OPINION_LABELS, ReviewAssignment
from app.reviews.settings import ReviewSetup, save_settings, settings_for
from app.settings import Settings

SETUP = "/instruction/appels/{call_id:int}/evaluation"
POOL_ADD = "/instruction/appels/{call_id:int}/evaluation/evaluateurs"
CONFLICT_ADD = "/instruction/appels/{call_id:int}/evaluation/conflits"
ASSIGN = "/instruction/appels/{call_id:int}/evaluation/affectation"
ASSIGN_ONE = "/instruction/appels/{call_id:int}/evaluation/affectation-manuelle"
REMIND = "/instruction/appels/{call_id:int}/evaluation/relancer"
SCORES_EXPORT = "/instruction/appels/{call_id:int}/classement/evaluations.csv"
SCORES_EXPORT_XLSX = "/instruction/appels/{call_id:int}/classement/evaluations.xlsx"
RANKING = "/instruction/appels/{call_id:int}/classement"
DASHBOARD = "/evaluation"
REVIEW = "/evaluation/{assignment_id:int}"
REVIEW_FILE = "/evaluation/{assignment_id:int}/pieces/{attachment_id:int}"
REVIEW_TOTAL = "/evaluation/{assignment_id:int}/total"
DECLINE = "/evaluation/{assignment_id:int}/conflit"
LINKS = "/evaluation/liens"
FILE_REVIEWS = "/instruction/dossiers/{app_id:int}/evaluations"
REOPEN = "/instruction/evaluations/{assignment_id:int}/rouvrir"
UNASSIGN = "/instruction/evaluations/{assignment_id:int}/retirer"

RANKING_PAGE = 200
DASHBOARD_PAGE = 50


async def _call(call_id: int) -> dict:
    call = await calls.get_call(call_id)
    if call is None:
        raise NotFoundException()
    return call


def _page_of(page: str, pages: int) -> int:
    return min(max(whole_number(page) or 1, 1), pages)


# --- Officers: settings, pool, conflicts, assignment ------------------------------------------


def _setup_values(setup: ReviewSetup) -> dict[str, str]:
    return {
        "reviews_wanted": str(setup.reviews_wanted),
        "rank_by": setup.rank_by,
        "visibility": setup.visibility,
        "threshold": f"{setup.threshold_hundredths / 100:g}".replace(".", ","),
        "blind": "yes" if setup.blind else "",
        "due_at": paris_input(setup.due_at) if setup.due_at else "",
    }


async def _setup_page(
    request: Request, call: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    call_id = call["id"]
    if form is None:
        form = FormState(values=_setup_values(await settings_for(call_id)), prefix="review")
    members = await pool.pool(call_id)
    in_pool = {m.reviewer_id for m in members}
    setup = await settings_for(call_id)
    return render(
        request,
        "reviews/setup.html",
        status_code=status_code,
        call=call,
        form=form,
        pool=members,
        candidates=[
            (str(r.id), f"{r.full_name} ({r.email})")
            for r in await pool.reviewers(call["funder"])
            if r.id not in in_pool
        ],
        conflicts=await conflicts.conflicts(call_id),
        organisations=[(str(o.id), o.label) for o in await pool.applicant_organisations(call_id)],
        files=[(str(f.id), f.label) for f in await pool.assignable_files(call_id)],
        progress=await progress.progress(call_id, setup.due_at),
        due_at=setup.due_at,
        late=setup.due_at is not None and setup.due_at < now(),
    )


@get(SETUP, name="reviews:setup")
async def setup(request: Request, call_id: FromPath[int]) -> Template:
    return await _setup_page(request, await _call(call_id))


@post(SETUP, name="reviews:setup-post")
async def save_setup(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    call = await _call(call_id)
    try:
        await save_settings(call_id, data, actor=actor)
    except ReviewError as exc:
        form = FormState(values=dict(data), prefix="review")
        form.refuse(exc, field="reviews_wanted")
        return await _setup_page(request, call, form=form, status_code=422)
    flash(request, _("The review settings are saved."))
    return Redirect(path_to(SETUP, call_id=call_id), status_code=303)


@post(POOL_ADD, name="reviews:pool-add")
async def pool_add(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    await _call(call_id)
    return await act(
        request,
        pool.add_to_pool(call_id, whole_number(data.get("reviewer")), actor=actor),
        back=path_to(SETUP, call_id=call_id) + "#pool",
        done=_("The reviewer is in the pool."),
    )


@post(CONFLICT_ADD, name="reviews:conflict-add")
async def conflict_add(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    await _call(call_id)
    return await act(
        request,
        conflicts.record_conflict_on_call(
            call_id,
            whole_number(data.get("reviewer")),
            whole_number(data.get("organisation")),
            data.get("reason", ""),
            actor=actor,
        ),
        back=path_to(SETUP, call_id=call_id) + "#conflicts",
        done=_(
            "The conflict of interest is recorded: this reviewer will never see this organisation's files."
        ),
    )


@get(ASSIGN, name="reviews:assign-preview")
async def assign_preview(request: Request, call_id: FromPath[int]) -> Template:
    """What automatic assignment would do; nothing is saved until confirmed."""
    call = await _call(call_id)
    return render(request, "reviews/preview.html", call=call, preview=await pool.preview(call_id))


@post(ASSIGN, name="reviews:assign")
async def assign(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Redirect:
    await _call(call_id)
    try:
        count = await pool.apply_preview(
            call_id, data.get("fingerprint", ""), actor=actor, base_url=settings.base_url
        )
    except ReviewError as exc:
        flash(request, exc.text(), "error")
        return Redirect(path_to(ASSIGN, call_id=call_id), status_code=303)
    flash(request, _("%(num)d assignments saved.") % {"num": count})
    return Redirect(path_to(SETUP, call_id=call_id), status_code=303)


@post(ASSIGN_ONE, name="reviews:assign-one")
async def assign_one(
    request: Request,
    call_id: FromPath[int],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Redirect:
    """Manual assignment: one or several files to one reviewer of the pool (all or none)."""
    await _call(call_id)
    data = await request.form()
    ids = [i for v in data.getall("application", []) if (i := whole_number(v)) is not None]
    return await act(
        request,
        pool.assign_manually(
            ids,
            whole_number(data.get("reviewer")) or 0,
            call_id=call_id,
            actor=actor,
            base_url=settings.base_url,
        ),
        back=path_to(SETUP, call_id=call_id) + "#assignment-title",
        done=ngettext(
            "The file is given to this reviewer.",
            "The %(num)d files are given to this reviewer.",
            len(ids),
        )
        % {"num": len(ids)},
    )


@post(REMIND, name="reviews:remind")
async def remind(
    request: Request,
    call_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
    settings: NamedDependency[Settings],
) -> Redirect:
    """« Relancer »: one reminder now, to one reviewer or to every late one."""
    await _call(call_id)
    late_only = data.get("late") == "1"
    reviewer = None if late_only else whole_number(data.get("reviewer"))
    back = Redirect(path_to(SETUP, call_id=call_id) + "#progress-title", status_code=303)
    if reviewer is None and not late_only:
        flash(request, _("Choose a reviewer to remind."), "error")
        return back
    sent = await notices.remind_now(
        call_id,
        reviewer_id=reviewer,
        late_only=late_only,
        actor=actor,
        base_url=settings.base_url,
    )
    if sent:
        flash(
            request,
            ngettext("A reminder is sent.", "%(num)d reminders are sent.", sent) % {"num": sent},
        )
    else:
        flash(request, _("Nobody to remind: no review is waiting."), "error")
    return back


# --- Officers: ranking, a file's reviews ------------------------------------------------------


@get(SCORES_EXPORT, name="reviews:scores-export")
async def scores_export(
    call_id: FromPath[int], settings: NamedDependency[Settings]
) -> Stream | File:
    """Every submitted review with its marks and comments, as CSV."""
    return await _scores_export(call_id, "csv", settings)


@get(SCORES_EXPORT_XLSX, name="reviews:scores-export-xlsx")
async def scores_export_xlsx(
    call_id: FromPath[int], settings: NamedDependency[Settings]
) -> Stream | File:
    return await _scores_export(call_id, "xlsx", settings)


async def _scores_export(call_id: int, extension: str, settings: Settings) -> Stream | File:
    await _call(call_id)
    header, rows = await ranking.scores_export_rows(call_id)
    return await table_response(
        extension, settings.data_dir / "tmp", f"evaluations-appel-{call_id}", header, rows
    )


@get(RANKING, name="reviews:ranking")
async def ranking_page(
    request: Request,
    call_id: FromPath[int],
    status: FromQuery[str] = "",
    desaccord: FromQuery[str] = "",
    evaluateur: FromQuery[str] = "",
    tri: FromQuery[str] = "rank",
    page: FromQuery[str] = "1",
) -> Template:
    """The ranking, RANKING_PAGE files per page; the running total counts every file
    before the row, on earlier pages too."""
    seen = await versions.ranking(call_id)  # before the data (core.web.kept_part)
    call = await _call(call_id)
    status = status if status in ranking.RANKED else ""
    sort = tri if tri in ranking.RANKING_SORTS else "rank"
    filters = {
        "status": status,
        "disagreement": desaccord == "1",
        "reviewer": whole_number(evaluateur),
    }

    async def context() -> dict:
        total = await ranking.ranked_count(call_id, **filters)
        pages = max(1, -(-total // RANKING_PAGE))
        current = _page_of(page, pages)
        rows = await ranking.ranked_files(
            call_id,
            **filters,
            sort=sort,
            limit=RANKING_PAGE,
            offset=(current - 1) * RANKING_PAGE,
        )
        return {
            "call": call,
            "rows": rows,
            "total": total,
            "page": current,
            "pages": pages,
            "query": urlencode(
                {"status": status, "desaccord": desaccord, "evaluateur": evaluateur, "tri": sort}
            ),
            "settings": await settings_for(call_id),
            "pool": await pool.pool(call_id),
            "statuses": ranking.RANKED,
            "labels": application_states.LABELS,
            "filters": {
                "status": status,
                "desaccord": desaccord == "1",
                "evaluateur": evaluateur,
                "tri": sort,
            },
        }

    # Kept rendered while the call, its files, their marks and its pool are the same.
    part = await kept_part(request, "reviews/_ranking.html", seen=seen, context=context)
    return render(request, "reviews/ranking.html", call=call, part=part)


@get(FILE_REVIEWS, name="reviews:file-reviews")
async def file_reviews(request: Request, app_id: FromPath[int]) -> Template:
    """A file's reviews, for officers: marks, opinions, comments; reopen or take back."""
    app = await visible_application(request, app_id)
    call_id, organisation_id = app.call, app.organisation
    call = await calls.get_call(call_id)
    rows = await scoring.reviews_of(app_id, call["rubric"])
    return render(
        request,
        "reviews/file_reviews.html",
        app=app,
        call=call,
        rows=rows,
        summary=await ranking.file_aggregate(call_id, call["rubric"], rows),
        opinions=OPINION_LABELS,
        conflicts=await conflicts.conflicts_on(organisation_id),
        declines=await conflicts.declines_of(app_id),
        wanted=(await settings_for(call_id)).reviews_wanted,
    )


async def _file_of(assignment_id: int) -> int:
    app_id = await scoring.file_of_assignment(assignment_id)
    if app_id is None:
        raise NotFoundException()
    return app_id


@post(REOPEN, name="reviews:reopen")
async def reopen(
    request: Request, assignment_id: FromPath[int], actor: NamedDependency[Actor]
) -> Redirect:
    app_id = await _file_of(assignment_id)
    return await act(
        request,
        scoring.reopen(assignment_id, actor=actor),
        back=path_to(FILE_REVIEWS, app_id=app_id),
        done=_("The review is reopened: its reviewer can change it."),
    )


@post(UNASSIGN, name="reviews:unassign")
async def unassign(
    request: Request, assignment_id: FromPath[int], actor: NamedDependency[Actor]
) -> Redirect:
    app_id = await _file_of(assignment_id)
    return await act(
        request,
        pool.unassign(assignment_id, actor=actor),
        back=path_to(FILE_REVIEWS, app_id=app_id),
        done=_(
            "The reviewer is taken off this file. Run the automatic assignment to give it to someone else."
        ),
    )


# --- Reviewers --------------------------------------------------------------------------------


@get(DASHBOARD, name="reviews:dashboard")
async def dashboard(request: Request, page: FromQuery[str] = "1") -> Template:
    """The reviewer's files, DASHBOARD_PAGE a page, those to review first."""
    funders = funders_for(request.user, "review")  # roles per funder
    seen = await versions.reviewer_files(request.user.id)  # before the data (kept_part)

    async def context() -> dict:
        done, total = await scoring.my_assignment_counts(request.user.id, funders=funders)
        pages = max(1, -(-total // DASHBOARD_PAGE))
        current = _page_of(page, pages)
        rows = await scoring.my_assignments(
            request.user.id,
            limit=DASHBOARD_PAGE,
            offset=(current - 1) * DASHBOARD_PAGE,
            funders=funders,
        )
        return {"rows": rows, "done": done, "total": total, "page": current, "pages": pages}

    # Kept rendered while the reviewer's assignments, their files' titles and the calls
    # (titles, due dates) are the same.
    part = await kept_part(request, "reviews/_dashboard.html", seen=seen, context=context)
    return render(request, "reviews/dashboard.html", part=part)


async def _assignment(request: Request, assignment_id: int) -> ReviewAssignment:
    assignment = await scoring.assignment_for(request.user, assignment_id)
    if assignment is None:
        raise NotFoundException()
    return assignment


async def _review_page(
    request: Request,
    assignment: ReviewAssignment,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Template:
    call = await calls.get_call(assignment.call_id)
    setup = await settings_for(assignment.call_id)
    file = await scoring.file_for_review(assignment, setup)
    values = assignment.form_values()
    return render(
        request,
        "reviews/review.html",
        status_code=status_code,
        assignment=assignment,
        call=call,
        app=file,
        blind=setup.blind,
        fields=formspec.fields_of(file.form),
        attachments=await scoring.review_documents(file, call["documents"], blind=setup.blind),
        form=form or FormState(values=values, prefix="review"),
        opinions=OPINION_LABELS,
        others=await scoring.other_reviews(assignment, setup),
        mark=scoring.live_mark(call["rubric"], {**values, **(form.values if form else {})}),
        budget=budgets.from_json(file.budget, file.requested_cents),
        budget_lines=budgets,
    )


@get(REVIEW, name="reviews:review")
async def review(request: Request, assignment_id: FromPath[int]) -> Template:
    return await _review_page(request, await _assignment(request, assignment_id))


@post(REVIEW, name="reviews:review-post")
async def save_review(
    request: Request,
    assignment_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Template | Redirect:
    assignment = await _assignment(request, assignment_id)
    submit = data.get("action") == "submit"
    try:
        await scoring.save_review(
            assignment_id, data, reviewer=request.user, submit=submit, actor=actor
        )
    except ReviewError as exc:
        form = FormState(values=dict(data), prefix="review")
        if exc.problems:
            rubric = (await calls.get_call(assignment.call_id))["rubric"]
            titles = {f"score_{c['key']}": c["title"] for c in rubric}
            scales = {f"score_{c['key']}": c["scale"] for c in rubric}
            for name, message in exc.problems.items():
                text = _(message)
                if "%(scale)" in text:
                    text %= {"scale": scales[name]}
                form.error(name, text, titles.get(name))
        else:
            form.refuse(exc, field="opinion")
        return await _review_page(request, assignment, form=form, status_code=422)
    flash(request, _("Your review is submitted.") if submit else _("Your draft review is saved."))
    return Redirect(
        DASHBOARD if submit else path_to(REVIEW, assignment_id=assignment_id), status_code=303
    )


@get(REVIEW_FILE, name="reviews:file")
async def review_file(
    request: Request,
    assignment_id: FromPath[int],
    attachment_id: FromPath[int],
    files: NamedDependency[FileStorage],
) -> Response:
    assignment = await _assignment(request, assignment_id)
    # Only what the review page lists: the documents of the file as submitted.
    attachment = await applications.current_attachment(assignment.application_id, attachment_id)
    if attachment is None:
        raise NotFoundException()
    setup = await settings_for(assignment.call_id)
    file = await scoring.file_for_review(assignment, setup)
    call = await calls.get_call(assignment.call_id)
    shown = {
        d.id: d for d in await scoring.review_documents(file, call["documents"], blind=setup.blind)
    }
    if attachment_id not in shown:  # the organisation's own papers, on a blind call
        raise NotFoundException()
    return files.download(
        attachment["storage_id"],
        filename=shown[attachment_id].download_name,
        content_type=attachment["content_type"],
    )


@post(REVIEW_TOTAL, name="reviews:total")
async def review_total(
    request: Request, assignment_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template:
    """htmx: the weighted mark /20 of the marks typed so far."""
    assignment = await _assignment(request, assignment_id)
    call = await calls.get_call(assignment.call_id)
    return render(request, "reviews/_total.html", mark=scoring.live_mark(call["rubric"], data))


@post(DECLINE, name="reviews:decline")
async def decline(
    request: Request,
    assignment_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
    actor: NamedDependency[Actor],
) -> Redirect:
    await _assignment(request, assignment_id)
    try:
        await conflicts.decline_with_conflict(
            assignment_id, data.get("reason", ""), reviewer=request.user, actor=actor
        )
    except ReviewError as exc:
        flash(request, exc.text(), "error")
        return Redirect(path_to(REVIEW, assignment_id=assignment_id), status_code=303)
    flash(request, _("Your conflict of interest is recorded; the file is taken back from you."))
    return Redirect(DASHBOARD, status_code=303)


@get(LINKS, name="reviews:links")
async def links(request: Request, q: FromQuery[str] = "") -> Template:
    """A reviewer's declared links to organisations, and a search to declare another."""
    return render(
        request,
        "reviews/links.html",
        links=await conflicts.links_of(request.user.id),
        q=q,
        found=await conflicts.find_organisations(q),
    )


@post(LINKS, name="reviews:link-add")
async def link_add(
    request: Request, data: URLEncodedBody[dict[str, str]], actor: NamedDependency[Actor]
) -> Redirect:
    """A reviewer declares a link to an organisation: a conflict of interest from now on."""
    try:
        await conflicts.declare_link(
            request.user.id,
            whole_number(data.get("organisation")),
            data.get("reason", ""),
            search=data.get("q", ""),
            actor=actor,
        )
    except ReviewError as exc:
        flash(request, exc.text(), "error")
        return Redirect(f"{LINKS}?{urlencode({'q': data.get('q', '')})}", status_code=303)
    flash(request, _("Your link is recorded: you will never be given this organisation's files."))
    return Redirect(LINKS, status_code=303)


STAFF = Router(
    path="",
    guards=[requires("manage_calls")],
    include_in_schema=False,
    route_handlers=[
        setup,
        save_setup,
        pool_add,
        conflict_add,
        assign_preview,
        assign,
        assign_one,
        remind,
        scores_export,
        scores_export_xlsx,
        ranking_page,
        file_reviews,
        reopen,
        unassign,
    ],
)
REVIEWERS = Router(
    path="",
    guards=[requires("review")],
    include_in_schema=False,
    route_handlers=[
        dashboard,
        review,
        save_review,
        review_file,
        review_total,
        decline,
        links,
        link_add,
    ],
)
ROUTES = [STAFF, REVIEWERS]
