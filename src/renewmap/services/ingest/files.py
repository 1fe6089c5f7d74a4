"""Files in and out: uploads checked before use, outputs written atomically (a failed export
never leaves a partial file behind)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from renewmap.errors import InvalidInput, OutputFailed, PayloadTooLarge


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` in one step."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent
        )
        os.close(fd)
        os.unlink(tmp_name)  # drivers want to create the file themselves
    except OSError as exc:
        raise OutputFailed(
            f"{target}: cannot write here ({exc.strerror})", file=str(target)
        ) from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputFailed(f"{target}: cannot write ({exc.strerror})", file=str(target)) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def checked_upload(filename: str | None, data: bytes, *, limit: int, what: str = "file") -> str:
    """The upload's bare file name, once it is known to be neither empty nor over ``limit``
    bytes (413); messages name the file."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "upload"
    if len(data) > limit:
        raise PayloadTooLarge(
            f"{what} '{name}' is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{limit // 1024 // 1024} MB",
            field="file",
        )
    if not data:
        raise InvalidInput(f"{what} '{name}' is empty", field="file")
    return name
