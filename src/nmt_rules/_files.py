"""Files: written so that no reader, and no kill, ever takes part of one for the whole, and
their paths shown the way a person running nmt-rules reads them."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import BinaryIO, TextIO

import attrs


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[TextIO]:
    """Open a temporary file beside the real file behind `path` (a link stays a link); on
    success rename it over that file."""
    path = Path(os.path.realpath(path))
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


@attrs.define
class PartialFile:
    """Lines written to PATH.partial beside the real file behind PATH (links followed, so a
    link stays a link), renamed over it once complete. Interrupted, it keeps whole lines
    only, which a later run may continue (`resume`)."""

    target: Path
    partial: Path
    handle: BinaryIO
    written: int = 0  # bytes of whole lines in the file

    @staticmethod
    def paths(path: str | Path) -> tuple[Path, Path]:
        """The real file behind PATH and its partial file."""
        target = Path(os.path.realpath(path))
        return target, target.with_name(target.name + ".partial")

    @classmethod
    def open(cls, path: str | Path, resume: bool = False) -> PartialFile:
        """Start the partial file, or reopen one to resume it; raises OSError."""
        target, partial = cls.paths(path)
        handle = partial.open("r+b" if resume and partial.exists() else "wb", buffering=2**16)
        with contextlib.suppress(OSError):  # a replaced file keeps its permissions
            os.chmod(partial, target.stat().st_mode & 0o7777)
        return cls(target, partial, handle)

    def resume(self, keep: Callable[[bytes], bool]) -> None:
        """Keep the file's first whole lines while `keep` accepts them; drop the rest,
        including a last line cut short by a kill."""
        self.handle.seek(0)
        for line in iter(self.handle.readline, b""):
            if not line.endswith(b"\n") or not keep(line):
                break
            self.written += len(line)
        self.handle.seek(self.written)
        self.handle.truncate()

    def write(self, lines: bytes) -> None:
        """Append whole lines. They reach the file a megabyte at a time: a run killed
        outright loses at most that, which `resume` plans again."""
        self.handle.write(lines)
        self.written += len(lines)

    def finish(self) -> None:
        """Complete: the partial file replaces the target atomically, durably."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.partial, self.target)
        directory = os.open(self.target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def stop(self) -> None:
        """Interrupted: whole lines only stay in the partial file."""
        with contextlib.suppress(OSError):
            self.handle.flush()
        with contextlib.suppress(OSError):
            self.handle.truncate(self.written)
        self.handle.close()
