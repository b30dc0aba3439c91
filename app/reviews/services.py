"""The review domain as the rest of Guichet uses it (decisions, the demo, the command
line, the app's background work). Inside the domain, each concern has its module:

- ``settings``: how a call's files are reviewed;
- ``pool``: the call's reviewers, automatic and manual assignment;
- ``conflicts``: conflicts of interest (declared links);
- ``scoring``: the reviewer's files and reviews, reopening, the files' state;
- ``marks`` and ``ranking``: each file's stored mark, the ranking, the export;
- ``reminders``: e-mails before and after the due date;
- ``notices``: the e-mail listing a reviewer's new files, the officer's « Relancer »;
- ``progress``: each reviewer's progress on a call;
- ``states`` (a review's life as data), ``errors`` (``ReviewError``).
"""

from app.reviews.conflicts import decline_with_conflict, record_conflict
from app.reviews.errors import ReviewError
from app.reviews.pool import add_to_pool, apply_preview, preview
from app.reviews.ranking import RankedFile, ranked_files
from app.reviews.reminders import reminders_job, send_reminders
from app.reviews.scoring import applicant_comments, save_review
from app.reviews.settings import save_settings

__all__ = [
    "RankedFile",
    "ReviewError",
    "add_to_pool",
    "applicant_comments",
    "apply_preview",
    "decline_with_conflict",
    "preview",
    "ranked_files",
    "record_conflict",
    "reminders_job",
    "save_review",
    "save_settings",
    "send_reminders",
]
