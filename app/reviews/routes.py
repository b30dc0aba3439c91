"""Review pages: officers set up the review of a call and assign reviewers; reviewers
score their files; officers read the ranking."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import File, Redirect, Stream, Template

from app.accounts.guards import requires
from app.accounts.routes import actor
from app.applications import budget as budgets
from app.applications import services as applications
from app.applications import states
from app.calls import formspec
from app.calls import services as calls
from app.core import storage
from app.core.exports import table_response
from app.core.forms import FormState
from app.core.i18n import gettext as _
from app.core.i18n import gettext_noop as N_
from app.core.i18n import ngettext
from app.core.numbers import whole_number
from app.core.time import paris_input
from app.core.web import flash, path_to, render
from app.reviews import services
from app.reviews.services import ReviewError

SETUP = "/instruction/appels/{call_id:int}/evaluation"
POOL_ADD = "/instruction/appels/{call_id:int}/evaluation/evaluateurs"
CONFLICT_ADD = "/instruction/appels/{call_id:int}/evaluation/conflits"
ASSIGN = "/instruction/appels/{call_id:int}/evaluation/affectation"
ASSIGN_ONE = "/instruction/appels/{call_id:int}/evaluation/affectation-manuelle"
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

STAFF = [requires("manage_calls")]
REVIEWERS = [requires("review")]

ERRORS = {
    "reviews_wanted": N_("Enter a number of reviews per file between 1 and 10."),
    "rank_by": N_("Choose an option from the list."),
    "visibility": N_("Choose an option from the list."),
    "threshold": N_("Enter a gap in points out of 20, e.g. 4."),
    "datetime": N_("Enter a date and time, e.g. 17/03/2017 12:00."),
    "datetime_gap": N_(
        "This time does not exist in Paris (the clocks go forward): choose another."
    ),
    "not_a_reviewer": N_("This person is not a reviewer."),
    "changed": N_(
        "Something changed since the preview (files, reviewers or conflicts): check the new preview."
    ),
    "already_submitted": N_(
        "This review is submitted: an officer must reopen it before it changes."
    ),
    "score_missing": N_("Give a mark for this criterion."),
    "score_range": N_("Give a whole mark between 0 and the criterion's maximum."),
    "opinion": N_("Choose an overall opinion."),
    "not_assignable": N_("This file is not waiting for review."),
    "conflicted": N_("This reviewer has a conflict of interest with this organisation."),
    "already_assigned": N_("This reviewer already has this file."),
    "conflict_reason": N_("Say what links you to the organisation, e.g. former employee."),
}
OPINION_LABELS = {
    "favourable": N_("favourable"),
    "reserved": N_("reserved"),
    "unfavourable": N_("unfavourable"),
}


def error_text(code: str) -> str:
    return _(ERRORS.get(code, N_("Something is not valid.")))


async def _call(call_id: int) -> dict:
    call = await calls.get_call(call_id)
    if call is None:
        raise NotFoundException()
    return call


async def _setup_page(
    request: Request, call: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    settings = await services.settings_for(call["id"])
    if form is None:
        form = FormState(
            values={
                "reviews_wanted": str(settings["reviews_wanted"]),
                "rank_by": settings["rank_by"],
                "visibility": settings["visibility"],
                "threshold": f"{settings['threshold_hundredths'] / 100:g}".replace(".", ","),
                "blind": "yes" if settings["blind"] else "",
                "due_at": paris_input(settings["due_at"]) if settings["due_at"] else "",
            },
            prefix="review",
        )
    members = await services.pool(call["id"])
    in_pool = {m["reviewer_id"] for m in members}
    return render(
        request,
        "reviews/setup.html",
        status_code=status_code,
        call=call,
        form=form,
        pool=members,
        candidates=[
            (str(r["id"]), f"{r['full_name']} ({r['email']})")
            for r in await services.reviewers()
            if r["id"] not in in_pool
        ],
        conflicts=await services.conflicts(call["id"]),
        organisations=[
            (str(o["id"]), o["name"]) for o in await _applicant_organisations(call["id"])
        ],
        files=[
            (str(f["id"]), f"{f['reference']} — {f['title']}")
            for f in await services.assignable_files(call["id"])
        ],
    )


async def _applicant_organisations(call_id: int) -> list[dict]:
    from app.applications.tables import Application

    return (
        await Application.select(
            Application.organisation.id.as_alias("id"),
            Application.organisation.name.as_alias("name"),
        )
        .where(Application.call == call_id)
        .order_by(Application.organisation.name)
    )


@get(SETUP, guards=STAFF, include_in_schema=False, name="reviews:setup")
async def setup(request: Request, call_id: FromPath[int]) -> Template:
    return await _setup_page(request, await _call(call_id))


@post(SETUP, guards=STAFF, include_in_schema=False, name="reviews:setup-post")
async def save_setup(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    call = await _call(call_id)
    try:
        await services.save_settings(call_id, data, actor=actor(request))
    except ReviewError as exc:
        form = FormState(values=dict(data), prefix="review")
        field = {"datetime": "due_at", "datetime_gap": "due_at"}.get(exc.code, exc.code)
        form.error(
            field
            if field in ("reviews_wanted", "rank_by", "visibility", "threshold", "due_at")
            else "reviews_wanted",
            error_text(exc.code),
        )
        return await _setup_page(request, call, form=form, status_code=422)
    flash(request, _("The review settings are saved."))
    return Redirect(path_to(SETUP, call_id=call_id), status_code=303)


@post(POOL_ADD, guards=STAFF, include_in_schema=False, name="reviews:pool-add")
async def pool_add(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    await _call(call_id)
    try:
        reviewer = whole_number(data.get("reviewer"))
        if reviewer is None:
            raise ReviewError("not_a_reviewer")
        await services.add_to_pool(call_id, reviewer, actor=actor(request))
    except (ReviewError, ValueError):
        flash(request, error_text("not_a_reviewer"), "error")
    else:
        flash(request, _("The reviewer is in the pool."))
    return Redirect(path_to(SETUP, call_id=call_id) + "#pool", status_code=303)


@post(CONFLICT_ADD, guards=STAFF, include_in_schema=False, name="reviews:conflict-add")
async def conflict_add(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    await _call(call_id)
    reviewer, organisation = data.get("reviewer", ""), data.get("organisation", "")
    pool_ids = {str(m["reviewer_id"]) for m in await services.pool(call_id)}
    org_ids = {str(o["id"]) for o in await _applicant_organisations(call_id)}
    if reviewer not in pool_ids or organisation not in org_ids:
        flash(
            request, _("Choose a reviewer of the pool and an organisation that applied."), "error"
        )
    else:
        await services.record_conflict(
            int(reviewer), int(organisation), data.get("reason", ""), actor=actor(request)
        )
        flash(
            request,
            _(
                "The conflict of interest is recorded: this reviewer will never see this organisation's files."
            ),
        )
    return Redirect(path_to(SETUP, call_id=call_id) + "#conflicts", status_code=303)


@get(ASSIGN, guards=STAFF, include_in_schema=False, name="reviews:assign-preview")
async def assign_preview(request: Request, call_id: FromPath[int]) -> Template:
    """What automatic assignment would do; nothing is saved until confirmed."""
    call = await _call(call_id)
    return render(
        request, "reviews/preview.html", call=call, preview=await services.preview(call_id)
    )


@post(ASSIGN, guards=STAFF, include_in_schema=False, name="reviews:assign")
async def assign(
    request: Request, call_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    await _call(call_id)
    try:
        count = await services.apply_preview(
            call_id, data.get("fingerprint", ""), actor=actor(request)
        )
    except ReviewError as exc:
        flash(request, error_text(exc.code), "error")
        return Redirect(path_to(ASSIGN, call_id=call_id), status_code=303)
    flash(request, _("%(num)d assignments saved.") % {"num": count})
    return Redirect(path_to(SETUP, call_id=call_id), status_code=303)


@post(ASSIGN_ONE, guards=STAFF, include_in_schema=False, name="reviews:assign-one")
async def assign_one(request: Request, call_id: FromPath[int]) -> Redirect:
    """Manual assignment: one or several files to one reviewer of the pool (all or none)."""
    await _call(call_id)
    data = await request.form()
    ids = [i for v in data.getall("application", []) if (i := whole_number(v)) is not None]
    try:
        await services.assign_manually(
            ids, whole_number(data.get("reviewer")) or 0, call_id=call_id, actor=actor(request)
        )
    except ReviewError as exc:
        message = error_text(exc.code)
        flash(request, f"{exc.detail} : {message}" if exc.detail else message, "error")
    else:
        flash(
            request,
            ngettext(
                "The file is given to this reviewer.",
                "The %(num)d files are given to this reviewer.",
                len(ids),
            )
            % {"num": len(ids)},
        )
    return Redirect(path_to(SETUP, call_id=call_id) + "#assignment-title", status_code=303)


@get(SCORES_EXPORT, guards=STAFF, include_in_schema=False, name="reviews:scores-export")
async def scores_export(request: Request, call_id: FromPath[int]) -> Stream | File:
    """Every submitted review with its marks and comments, as CSV."""
    return await _scores_export(request, call_id, "csv")


@get(SCORES_EXPORT_XLSX, guards=STAFF, include_in_schema=False, name="reviews:scores-export-xlsx")
async def scores_export_xlsx(request: Request, call_id: FromPath[int]) -> Stream | File:
    return await _scores_export(request, call_id, "xlsx")


async def _scores_export(request: Request, call_id: int, extension: str) -> Stream | File:
    await _call(call_id)
    header, rows = await services.scores_export_rows(call_id)
    return await table_response(
        extension,
        request.app.state.settings.data_dir / "tmp",
        f"evaluations-appel-{call_id}",
        header,
        rows,
    )


@get(RANKING, guards=STAFF, include_in_schema=False, name="reviews:ranking")
async def ranking(
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
    call = await _call(call_id)
    status = status if status in services.RANKED else ""
    reviewer = whole_number(evaluateur)
    sort = tri if tri in services.RANKING_SORTS else "rank"
    rows = await services.ranking(
        call_id, status=status, disagreement=desaccord == "1", reviewer=reviewer, sort=sort
    )
    pages = max(1, -(-len(rows) // RANKING_PAGE))
    current = min(max(whole_number(page) or 1, 1), pages)
    return render(
        request,
        "reviews/ranking.html",
        call=call,
        rows=rows[(current - 1) * RANKING_PAGE : current * RANKING_PAGE],
        total=len(rows),
        page=current,
        pages=pages,
        query=urlencode(
            {"status": status, "desaccord": desaccord, "evaluateur": evaluateur, "tri": sort}
        ),
        settings=await services.settings_for(call_id),
        pool=await services.pool(call_id),
        statuses=services.RANKED,
        labels=states.LABELS,
        filters={
            "status": status,
            "desaccord": desaccord == "1",
            "evaluateur": evaluateur,
            "tri": sort,
        },
    )


# --- Reviewers ------------------------------------------------------------------------------------


@get(DASHBOARD, guards=REVIEWERS, include_in_schema=False, name="reviews:dashboard")
async def dashboard(request: Request, page: FromQuery[str] = "1") -> Template:
    """The reviewer's files, DASHBOARD_PAGE a page, those to review first."""
    done, total = await services.my_assignment_counts(request.user.id)
    pages = max(1, -(-total // DASHBOARD_PAGE))
    current = min(max(whole_number(page) or 1, 1), pages)
    rows = await services.my_assignments(
        request.user.id, limit=DASHBOARD_PAGE, offset=(current - 1) * DASHBOARD_PAGE
    )
    due = await services.due_dates({r["call_id"] for r in rows})
    for row in rows:
        row["due_at"] = due.get(row["call_id"])
    return render(
        request,
        "reviews/dashboard.html",
        rows=rows,
        done=done,
        total=total,
        page=current,
        pages=pages,
    )


async def _assignment(request: Request, assignment_id: int) -> dict:
    assignment = await services.assignment_for(request.user, assignment_id)
    if assignment is None:
        raise NotFoundException()
    return assignment


async def _review_page(
    request: Request, assignment: dict, *, form: FormState | None = None, status_code: int = 200
) -> Template:
    call = await calls.get_call(assignment["call_id"])
    settings = await services.settings_for(call["id"])
    app = await applications.application_for(_StaffView(request.user), assignment["application_id"])
    values = {f"score_{k}": str(v) for k, v in assignment["scores"].items()}
    values.update(
        opinion=assignment["opinion"],
        comment_staff=assignment["comment_staff"],
        comment_applicant=assignment["comment_applicant"],
    )
    return render(
        request,
        "reviews/review.html",
        status_code=status_code,
        assignment=assignment,
        call=call,
        app=app,
        blind=settings["blind"],
        fields=formspec.fields_of(app.form),
        attachments=await applications.current_attachments(app.id),
        form=form or FormState(values=values, prefix="review"),
        opinions=OPINION_LABELS,
        others=await services.other_reviews(assignment, settings),
        mark=services.live_mark(call, {**values, **(form.values if form else {})}),
        budget=app.forecast,
        budget_lines=budgets,
    )


class _StaffView:
    """Reads an assigned file as staff would: the reviewer's right to it was checked
    by ``assignment_for`` (own assignment, no conflict)."""

    def __init__(self, user):
        self.id = user.id

    def has_role(self, *roles: str) -> bool:
        return True


@get(REVIEW, guards=REVIEWERS, include_in_schema=False, name="reviews:review")
async def review(request: Request, assignment_id: FromPath[int]) -> Template:
    return await _review_page(request, await _assignment(request, assignment_id))


@post(REVIEW, guards=REVIEWERS, include_in_schema=False, name="reviews:review-post")
async def save_review(
    request: Request, assignment_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template | Redirect:
    assignment = await _assignment(request, assignment_id)
    submit = data.get("action") == "submit"
    try:
        await services.save_review(
            assignment_id, data, reviewer=request.user, submit=submit, actor=actor(request)
        )
    except ReviewError as exc:
        form = FormState(values=dict(data), prefix="review")
        if exc.code == "invalid":
            titles = {
                c["key"]: c["title"]
                for c in (await calls.get_call(assignment["call_id"]))["rubric"]
            }
            for key, code in exc.detail.items():
                if key == "opinion":
                    form.error(key, error_text(code))
                else:
                    form.error(f"score_{key}", error_text(code), titles.get(key))
        else:
            form.error("opinion", error_text(exc.code))
        return await _review_page(request, assignment, form=form, status_code=422)
    flash(request, _("Your review is submitted.") if submit else _("Your draft review is saved."))
    return Redirect(
        DASHBOARD if submit else path_to(REVIEW, assignment_id=assignment_id), status_code=303
    )


@get(REVIEW_FILE, guards=REVIEWERS, include_in_schema=False, name="reviews:file")
async def review_file(
    request: Request, assignment_id: FromPath[int], attachment_id: FromPath[int]
) -> Response:
    assignment = await _assignment(request, assignment_id)
    # Only what the review page lists: the documents of the file as submitted.
    attachment = await applications.current_attachment(assignment["application_id"], attachment_id)
    if attachment is None:
        raise NotFoundException()
    return storage.FileStorage.of_app(request.app).download(
        attachment["storage_id"],
        filename=attachment["original_name"],
        content_type=attachment["content_type"],
    )


@post(REVIEW_TOTAL, guards=REVIEWERS, include_in_schema=False, name="reviews:total")
async def review_total(
    request: Request, assignment_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Template:
    """htmx: the weighted mark /20 of the marks typed so far."""
    assignment = await _assignment(request, assignment_id)
    call = await calls.get_call(assignment["call_id"])
    return render(request, "reviews/_total.html", mark=services.live_mark(call, data))


@post(DECLINE, guards=REVIEWERS, include_in_schema=False, name="reviews:decline")
async def decline(
    request: Request, assignment_id: FromPath[int], data: URLEncodedBody[dict[str, str]]
) -> Redirect:
    await _assignment(request, assignment_id)
    try:
        await services.decline_with_conflict(
            assignment_id, data.get("reason", ""), reviewer=request.user, actor=actor(request)
        )
    except ReviewError as exc:
        flash(request, error_text(exc.code), "error")
        return Redirect(path_to(REVIEW, assignment_id=assignment_id), status_code=303)
    flash(request, _("Your conflict of interest is recorded; the file is taken back from you."))
    return Redirect(DASHBOARD, status_code=303)


@get(LINKS, guards=REVIEWERS, include_in_schema=False, name="reviews:links")
async def links(request: Request, q: FromQuery[str] = "") -> Template:
    """A reviewer's declared links to organisations, and a search to declare another."""
    return render(
        request,
        "reviews/links.html",
        links=await services.links_of(request.user.id),
        q=q,
        found=await services.find_organisations(q),
    )


@post(LINKS, guards=REVIEWERS, include_in_schema=False, name="reviews:link-add")
async def link_add(request: Request, data: URLEncodedBody[dict[str, str]]) -> Redirect:
    """A reviewer declares a link to an organisation: a conflict of interest from now on."""
    reason = data.get("reason", "").strip()
    organisation = data.get("organisation", "")
    found = {str(o["id"]) for o in await services.find_organisations(data.get("q", ""))}
    if organisation not in found:
        flash(request, _("Choose an organisation from the search results."), "error")
    elif not reason:
        flash(request, _("Say what links you to this organisation."), "error")
    else:
        await services.record_conflict(
            request.user.id, int(organisation), reason, actor=actor(request)
        )
        flash(
            request,
            _("Your link is recorded: you will never be given this organisation's files."),
        )
        return Redirect(LINKS, status_code=303)
    return Redirect(f"{LINKS}?{urlencode({'q': data.get('q', '')})}", status_code=303)


async def _staff_assignment_action(
    request: Request, assignment_id: int, action, done: str
) -> Redirect:
    from app.reviews.tables import Assignment

    row = (
        await Assignment.select(Assignment.application)
        .where(Assignment.id == assignment_id)
        .first()
    )
    if row is None:
        raise NotFoundException()
    try:
        await action()
    except ReviewError as exc:
        flash(request, error_text(exc.code), "error")
    else:
        flash(request, done)
    return Redirect(path_to(FILE_REVIEWS, app_id=row["application"]), status_code=303)


@get(FILE_REVIEWS, guards=STAFF, include_in_schema=False, name="reviews:file-reviews")
async def file_reviews(request: Request, app_id: FromPath[int]) -> Template:
    """A file's reviews, for officers: marks, opinions, comments; reopen or take back."""
    app = await applications.application_for(request.user, app_id)
    if app is None:
        raise NotFoundException()
    call = await calls.get_call(app.call)
    rows = await services.reviews_of(app_id)
    for row in rows:
        row["mark"] = services.live_mark(
            call, {f"score_{k}": str(v) for k, v in row["scores"].items()}
        )
    return render(
        request,
        "reviews/file_reviews.html",
        app=app,
        call=call,
        rows=rows,
        summary=await services.file_aggregate(call, rows),
        opinions=OPINION_LABELS,
        conflicts=await services.conflicts_on(app.organisation),
    )


@post(REOPEN, guards=STAFF, include_in_schema=False, name="reviews:reopen")
async def reopen(request: Request, assignment_id: FromPath[int]) -> Redirect:
    return await _staff_assignment_action(
        request,
        assignment_id,
        lambda: services.reopen(assignment_id, actor=actor(request)),
        _("The review is reopened: its reviewer can change it."),
    )


@post(UNASSIGN, guards=STAFF, include_in_schema=False, name="reviews:unassign")
async def unassign(request: Request, assignment_id: FromPath[int]) -> Redirect:
    return await _staff_assignment_action(
        request,
        assignment_id,
        lambda: services.unassign(assignment_id, actor=actor(request)),
        _(
            "The reviewer is taken off this file. Run the automatic assignment to give it to someone else."
        ),
    )


ROUTES = [
    setup,
    save_setup,
    pool_add,
    conflict_add,
    assign_preview,
    assign,
    ranking,
    dashboard,
    review,
    save_review,
    review_file,
    review_total,
    assign_one,
    scores_export,
    scores_export_xlsx,
    file_reviews,
    decline,
    links,
    link_add,
    reopen,
    unassign,
]
