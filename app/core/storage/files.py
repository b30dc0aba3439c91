"""Stored files: named by a random id, sharded in two levels of folders under
``<data dir>/files``, written atomically, sent back as attachments only."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from litestar.exceptions import ImproperlyConfiguredException, NotFoundException
from litestar.response import File

from app.core.storage.errors import InvalidStorageId, UploadRefused
from app.core.storage.filetypes import CONTENT_TYPES, KINDS, check_kinds, sniff
from app.core.storage.names import clean_filename, content_disposition, name_with_extension

if TYPE_CHECKING:
    from litestar import Litestar

    from app.settings import Settings

_STORAGE_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What the caller keeps in its own table to find and describe the file."""

    storage_id: str
    filename: str  # cleaned original name, with the extension of its real type
    size: int
    sha256: str
    kind: str
    content_type: str
    field_name: str = ""


@dataclass(frozen=True, slots=True)
class Upload:
    files: tuple[StoredFile, ...]
    fields: dict[str, str]
    # The values of fields that may repeat (checkboxes), when asked for.
    lists: dict[str, list[str]] = field(default_factory=dict)

    def file(self, field_name: str) -> StoredFile | None:
        return next((f for f in self.files if f.field_name == field_name), None)


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never half of it, even after a
    crash: temporary file in the same folder, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStorage:
    """Files under ``root`` (``<data dir>/files``), named by id, outside ``static/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.temp_dir = self.root / "tmp"

    @classmethod
    def from_settings(cls, settings: Settings) -> FileStorage:
        return cls(settings.data_dir / "files")

    @classmethod
    def of_app(cls, app: Litestar) -> FileStorage:
        settings = getattr(app.state, "settings", None)
        if settings is None:
            raise ImproperlyConfiguredException("app.state.settings is needed to store files")
        return cls.from_settings(settings)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def path_of(self, storage_id: str) -> Path:
        """Where the file with this id lives; ``InvalidStorageId`` for anything that is
        not 32 lowercase hex digits (so no id can walk out of the folder)."""
        if not isinstance(storage_id, str) or not _STORAGE_ID.fullmatch(storage_id):
            raise InvalidStorageId(repr(storage_id)[:80])
        return self.root / storage_id[:2] / storage_id[2:4] / storage_id

    def exists(self, storage_id: str) -> bool:
        return self.path_of(storage_id).is_file()

    def delete(self, storage_id: str) -> bool:
        """Remove the file; False when it was not there."""
        try:
            self.path_of(storage_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def open(self, storage_id: str) -> IO[bytes]:
        return self.path_of(storage_id).open("rb")

    def new_temp(self) -> tuple[Path, IO[bytes]]:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.temp_dir, suffix=".part")
        return Path(name), os.fdopen(fd, "wb")

    def place(self, temp: Path, storage_id: str) -> Path:
        """Move a finished, fsynced temporary file to its final name (same filesystem:
        an atomic rename)."""
        final = self.path_of(storage_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        _fsync_dir(final.parent)
        return final

    def purge_partials(self, older_than_s: float = 3600) -> int:
        """Remove temporary files left by a crash mid-upload; returns how many.
        ``guichet serve`` removes them all (``older_than_s=0``) before it starts."""
        if not self.temp_dir.is_dir():
            return 0
        limit = time.time() - older_than_s
        removed = 0
        for path in self.temp_dir.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
        return removed

    def stored_ids(self) -> Iterator[str]:
        """The id of every stored file (temporary files aside), read from the disk."""
        if not self.root.is_dir():
            return
        for first in self.root.iterdir():
            if len(first.name) != 2 or not first.is_dir():
                continue
            for second in first.iterdir():
                if len(second.name) != 2 or not second.is_dir():
                    continue
                for path in second.iterdir():
                    name = path.name
                    if _STORAGE_ID.fullmatch(name) and name[:4] == first.name + second.name:
                        yield name

    def remove_unreferenced(self, referenced: Collection[str], *, placed_since: float) -> int:
        """Remove the stored files placed since ``placed_since`` (a timestamp) that no
        record names; returns how many.

        A file is placed before the transaction that records it commits, so a crash in
        between leaves it behind. Only safe while nothing else stores files: ``guichet
        serve`` runs it before it starts serving, for what its previous run placed (see
        ``app.recovery``)."""
        keep = set(referenced)
        removed = 0
        for storage_id in list(self.stored_ids()):
            if storage_id in keep:
                continue
            path = self.path_of(storage_id)
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime >= placed_since and self.delete(storage_id):
                    removed += 1
        return removed

    def store_bytes(
        self, data: bytes, *, filename: str, kinds: Iterable[str] = KINDS
    ) -> StoredFile:
        """Store content the application already holds (generated letters, demo data),
        with the same checks as an upload. Blocking: from async code, run it in a
        thread (``anyio.to_thread.run_sync``)."""
        allowed = check_kinds(kinds)
        temp, fh = self.new_temp()
        try:
            with fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            name = clean_filename(filename)
            with temp.open("rb") as reader:
                file_type = sniff(reader, name)
            if file_type.kind not in allowed:
                raise UploadRefused("kind_not_allowed", filename=name)
            storage_id = self.new_id()
            self.place(temp, storage_id)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StoredFile(
            storage_id=storage_id,
            filename=name_with_extension(name, file_type),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            kind=file_type.kind,
            content_type=file_type.content_type,
        )

    def download(self, storage_id: str, *, filename: str, content_type: str) -> File:
        """A download of a stored file as an attachment, never shown inline.

        Give it the name and type recorded at upload; a type outside ``FILE_TYPES`` is
        sent as ``application/octet-stream``. 404 when the file is not there."""
        try:
            path = self.path_of(storage_id)
        except InvalidStorageId:
            raise NotFoundException() from None
        if not path.is_file():
            raise NotFoundException()
        media_type = content_type if content_type in CONTENT_TYPES else "application/octet-stream"
        return File(
            path=path,
            filename=clean_filename(filename),
            media_type=media_type,
            content_disposition_type="attachment",
            headers={
                "content-disposition": content_disposition(filename),
                "x-content-type-options": "nosniff",
            },
        )
