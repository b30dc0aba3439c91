"""Applications: eligibility, drafts saved without lost updates, the forecast budget,
attachments, submission with its receipt, withdrawal, « à compléter », screening and
the staff's table. No HTTP here; every change of state is audited.

The domain's services, by concern, in their own modules; this one is their public
face, the one other domains and the routes import:

- ``reading``: the file and what belongs to it, with access checked in the query;
- ``drafts``: eligibility, starting, saving a draft;
- ``attachments``: documents, their versions, quotas and pruning;
- ``thread``: the messages between the organisation and the staff;
- ``submission``: what stops submission, submitting, the receipt, withdrawing;
- ``screening``: eligible, ineligible, sent back « à compléter »;
- ``staff_table``: the staff's table and its exports;
- ``models``: the typed read models and refusals all of these return and raise.
"""

from app.applications.attachments import add_attachment, document_room, document_too_large
from app.applications.drafts import (
    answer_errors,
    check_eligibility,
    save_draft,
    start_application,
)
from app.applications.models import (
    ApplicationError,
    ApplicationSummary,
    ApplicationView,
    AttachmentVersion,
    AttachmentView,
    Conflict,
    Declaration,
    HistoryEntry,
    Incomplete,
    Ineligible,
    MessageView,
    NewFile,
    Problem,
    Saved,
    StaffRow,
    Undeclared,
)
from app.applications.reading import (
    application_for,
    applications_of,
    attachment_for,
    attachment_history,
    current_attachment,
    current_attachments,
    document_spec,
    history,
    is_editable,
    is_member,
    mark_thread_read,
    member_organisations,
    messages,
    now,
    unread_counts,
)
from app.applications.screening import request_completion, screen
from app.applications.staff_table import PAGE_SIZE, SORTS, TableQuery, iter_table, staff_table
from app.applications.submission import (
    CAPACITIES,
    content_hash,
    declaration_errors,
    ensure_receipt,
    submission_problems,
    submit,
    withdraw,
)
from app.applications.thread import file_too_large, message_room, post_message

__all__ = [
    "CAPACITIES",
    "PAGE_SIZE",
    "SORTS",
    "ApplicationError",
    "ApplicationSummary",
    "ApplicationView",
    "AttachmentVersion",
    "AttachmentView",
    "Conflict",
    "Declaration",
    "HistoryEntry",
    "Incomplete",
    "Ineligible",
    "MessageView",
    "NewFile",
    "Problem",
    "Saved",
    "StaffRow",
    "TableQuery",
    "Undeclared",
    "add_attachment",
    "answer_errors",
    "application_for",
    "applications_of",
    "attachment_for",
    "attachment_history",
    "check_eligibility",
    "content_hash",
    "current_attachment",
    "current_attachments",
    "declaration_errors",
    "document_room",
    "document_spec",
    "document_too_large",
    "ensure_receipt",
    "file_too_large",
    "history",
    "is_editable",
    "is_member",
    "iter_table",
    "mark_thread_read",
    "member_organisations",
    "message_room",
    "messages",
    "now",
    "post_message",
    "request_completion",
    "save_draft",
    "screen",
    "staff_table",
    "start_application",
    "submission_problems",
    "submit",
    "unread_counts",
    "withdraw",
]
