"""Why an upload is refused: each refusal is a Litestar HTTP exception (its status
answers a request that does not catch it) carrying the message to show."""

from __future__ import annotations

from litestar.exceptions import ClientException, TooManyRequestsException

from app.core.i18n import gettext
from app.core.i18n import gettext_noop as N_

# Each refusal's message, beside the code that raises it (shown translated by ``text``).
UPLOAD_MESSAGES = {
    "empty": N_("The file is empty."),
    "executable": N_("This file is a program: it is refused."),
    "unknown_type": N_("This kind of file is not accepted here."),
    "kind_not_allowed": N_("This kind of file is not accepted here."),
    "archive_suspicious": N_("This file looks damaged or suspicious."),
    "corrupt": N_("This file looks damaged or suspicious."),
    "macros": N_("Documents with macros are refused."),
    "missing": N_("Choose a file."),
    "file_too_large": N_("The file is larger than the limit for this document."),
    "field_too_large": N_("A text sent with the file is too long."),
}
UPLOAD_MALFORMED = N_(
    "The file could not be received whole. Please try again; if it happens again, "
    "try another browser."
)


class UploadError(ClientException):
    """An upload the application refuses; ``code`` names the reason for a message.

    Subclasses of Litestar's ``HTTPException``: uncaught, the app's HTML error handler
    answers with the page for ``status_code``."""

    status_code = 400
    default_code = "malformed"

    def __init__(
        self, code: str | None = None, *, filename: str = "", size: int | None = None
    ) -> None:
        self.code = code or self.default_code
        self.filename = filename
        # The file's size by the request's Content-Length, when refused on it.
        self.size = size
        # The text fields read before the refusal (to show the form again as typed).
        self.fields: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        super().__init__(detail=self.code)

    def text(self) -> str:
        """What to tell the person, in their language."""
        return gettext(UPLOAD_MESSAGES[self.code])


class UploadMalformed(UploadError):
    """400: not a multipart form we expect (truncated, unexpected field, too many files,
    client gone...). Codes: not_multipart, malformed, truncated, disconnected,
    unexpected_file, too_many_files, too_many_parts, duplicate_field, bad_encoding."""

    def text(self) -> str:
        return gettext(UPLOAD_MALFORMED)


class UploadTooLarge(UploadError):
    """413: a file is over ``max_bytes`` (code ``file_too_large``; ``size`` set when
    Content-Length said so before the file was read), a text field over its limit
    (``field_too_large``). Litestar's own ``RequestEntityTooLarge`` (413) comes when the
    whole body is over the route's ``request_max_body_size``."""

    status_code = 413
    default_code = "file_too_large"


class UploadRefused(UploadError):
    """422: the file itself is refused; re-render the form with a message for ``code``:
    empty, executable, unknown_type, kind_not_allowed, archive_suspicious, macros,
    corrupt. ``filename`` is the cleaned name of the file concerned."""

    status_code = 422
    default_code = "unknown_type"


class TooManyUploads(TooManyRequestsException):
    """429 with Retry-After: this person sent more files than ``UPLOADS_PER_MINUTE`` or
    ``UPLOADS_PER_HOUR``; the error page says the limits and how long to wait."""

    def __init__(self, retry_after: int, *, per_minute: int, per_hour: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)})
        self.explanation = (
            N_("You have sent too many files: at most %(minute)d a minute and %(hour)d an hour."),
            {"minute": per_minute, "hour": per_hour},
        )


class InvalidStorageId(ValueError):
    """Not a storage id (32 lowercase hexadecimal digits)."""
