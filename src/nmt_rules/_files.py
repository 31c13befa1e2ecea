"""Files: written atomically (a reader sees the old file or the whole new one, never a
part), and their paths shown the way a person running nmt-rules reads them."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[TextIO]:
    """Open a temporary file beside `path`; on success rename it over `path`."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def shown_path(path: str | Path | Traversable) -> str:
    """A file's path as a person reads it in messages: relative to where they run
    nmt-rules when the file is under it (symlinks resolved), else absolute."""
    full = Path(str(path))
    for candidate in (full.resolve(), full.absolute()):
        try:
            return str(candidate.relative_to(Path.cwd()))
        except ValueError:
            continue
    return str(full)
