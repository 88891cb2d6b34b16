"""Content-addressed files under `<data_dir>/media/`, served at `/media/`.

A file's name is a prefix of the SHA-256 of its bytes, so a URL never changes meaning:
the same image uploaded twice is one file, and browsers may cache it forever.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Final

MEDIA_URL_PREFIX: Final = "/media"
MEDIA_DIR_NAME: Final = "media"
THUMBNAILS: Final = "thumbnails"
# 128 bits of the digest: collisions are out of reach, URLs stay short.
NAME_HEX_CHARS: Final = 32


class MediaStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> MediaStore:
        return cls(data_dir / MEDIA_DIR_NAME)

    def ensure(self) -> None:
        (self.directory / THUMBNAILS).mkdir(parents=True, exist_ok=True)

    def save(self, data: bytes, extension: str, *, folder: str | None = None) -> str:
        """Store `data` (idempotently) and return its URL path, e.g. `/media/ab12….png`."""
        name = f"{hashlib.sha256(data).hexdigest()[:NAME_HEX_CHARS]}.{extension}"
        parts = [folder, name] if folder else [name]
        path = self.directory.joinpath(*parts)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: a reader never sees half a file, two writers of the same
            # content both succeed.
            fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.chmod(scratch, 0o644)
                os.replace(scratch, path)
            except BaseException:
                Path(scratch).unlink(missing_ok=True)
                raise
        return "/".join((MEDIA_URL_PREFIX, *parts))

    def path_of(self, url: str) -> Path | None:
        """The file behind a `/media/…` URL path, or None for any other URL or a bad path."""
        prefix = MEDIA_URL_PREFIX + "/"
        if not url.startswith(prefix):
            return None
        parts = url[len(prefix) :].split("/")
        if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
            return None
        return self.directory.joinpath(*parts)
