"""Attachments: streamed uploads, content-checked types, safe downloads.

The one upload path of the application, in modules by concern:

- ``multipart``: ``receive_upload``. A route excluded from Litestar's CSRF middleware
  calls it: the multipart body of ``request.stream()`` goes through python-multipart's
  push parser chunk by chunk, each file part straight into a temporary file under
  ``<data dir>/files/tmp`` with a running size limit and SHA-256; nothing holds the
  whole body in memory.
- ``csrf``: why the route is excluded from the CSRF middleware: when the token arrives
  as a form field, the middleware parses the whole multipart body first (spooling every
  file), and a handler that then reads ``request.stream()`` waits forever. So the check
  happens in ``receive_upload``, the same comparison as Litestar's: the ``x-csrftoken``
  header (htmx), or else the ``_csrf_token`` field, which must be the first part of the
  form (plain forms put the hidden field first). When it is missing or wrong the request
  is refused with 403 before a byte of any file is written.
- ``filetypes`` and ``archives``: a file's type is read from its content (magic bytes,
  the ZIP central directory for office documents, never inflated), never from its name
  or the client's content type.
- ``files``: ``FileStorage``. Stored files are named by a random id, sharded in two
  levels of folders; the caller keeps the id, the cleaned original name (``names``),
  size, SHA-256 and type in its own table.
- ``errors``: each refusal with its status and message.

Every request carrying a file counts against its sender's upload rate
(``UPLOADS_PER_MINUTE``, ``UPLOADS_PER_HOUR``): over it, 429 with Retry-After as soon
as the file begins, the rest unread. When Content-Length says the file is over the
limit, it is refused as soon as it begins too, before a byte of it is read.

On any refusal nothing stays on disk. After a crash (a temporary file cut short, a file
placed whose record never committed), ``guichet serve`` removes the leftovers before it
starts (``app.recovery``).

Callers import from ``app.core.storage`` (the names below), not from its modules.
"""

from app.core.storage.archives import (
    MAX_ZIP_ENTRIES,
    MAX_ZIP_RATIO,
    MAX_ZIP_UNCOMPRESSED,
    check_zip_entries,
)
from app.core.storage.csrf import csrf_tokens_match
from app.core.storage.errors import (
    UPLOAD_MALFORMED,
    UPLOAD_MESSAGES,
    InvalidStorageId,
    TooManyUploads,
    UploadError,
    UploadMalformed,
    UploadRefused,
    UploadTooLarge,
)
from app.core.storage.files import FileStorage, StoredFile, Upload, write_atomically
from app.core.storage.filetypes import (
    DEFAULT_KINDS,
    FILE_TYPES,
    IMAGE,
    KINDS,
    LEGACY_OFFICE,
    OFFICE,
    OPENDOCUMENT,
    PDF,
    FileType,
    accept_attribute,
    extensions_for,
    sniff,
)
from app.core.storage.multipart import (
    CSRF_FIELD,
    MAX_FIELD_BYTES,
    MB,
    MULTIPART_OVERHEAD,
    body_limit,
    check_upload_rate,
    declared_bytes,
    declared_file_bytes,
    multipart_boundary,
    receive_upload,
)
from app.core.storage.names import (
    MAX_FILENAME_CHARS,
    clean_filename,
    content_disposition,
    name_with_extension,
)

__all__ = [
    "CSRF_FIELD",
    "DEFAULT_KINDS",
    "FILE_TYPES",
    "IMAGE",
    "KINDS",
    "LEGACY_OFFICE",
    "MAX_FIELD_BYTES",
    "MAX_FILENAME_CHARS",
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_RATIO",
    "MAX_ZIP_UNCOMPRESSED",
    "MB",
    "MULTIPART_OVERHEAD",
    "OFFICE",
    "OPENDOCUMENT",
    "PDF",
    "UPLOAD_MALFORMED",
    "UPLOAD_MESSAGES",
    "FileStorage",
    "FileType",
    "InvalidStorageId",
    "StoredFile",
    "TooManyUploads",
    "Upload",
    "UploadError",
    "UploadMalformed",
    "UploadRefused",
    "UploadTooLarge",
    "accept_attribute",
    "body_limit",
    "check_upload_rate",
    "check_zip_entries",
    "clean_filename",
    "content_disposition",
    "csrf_tokens_match",
    "declared_bytes",
    "declared_file_bytes",
    "extensions_for",
    "multipart_boundary",
    "name_with_extension",
    "receive_upload",
    "sniff",
    "write_atomically",
]
