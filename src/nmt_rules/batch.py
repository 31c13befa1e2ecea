"""Plan many brain maps at once: every record gets a line, in input order, whatever it holds.

A record is one line of a JSON Lines file (or of standard input), one YAML/JSON map file of a
folder, or a single map file. Each becomes one output line, its plan or its errors; a record
that cannot be planned for any reason (invalid, poisonous, or a bug) is an error line and the
run goes on. With more than one job, worker processes (each with its own Planner: durable
handles belong to a process) plan chunks of records while this process reads ahead a bounded
window and writes results in input order, so the output is byte-identical for any job count.

A file output is written to OUT.partial beside the real target and renamed over it when the
run is complete. A run that is killed leaves OUT.partial holding whole lines for a prefix of
the input; `resume` continues after them.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import gc
import itertools
import multiprocessing
import os
import pickle
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import IO, Any, Final

import attrs
import orjson

from ._files import PartialFile
from .api import Planner, planner_with
from .brainmap import MAX_MAP_CHARS, load_brain_map, parse_brain_map, read_map_text
from .decision_log import DecisionLog
from .errors import BatchError, FieldProblem, InputError, NmtRulesError
from .model import BrainMap
from .report import plan_to_dict

#: SOURCE or OUT naming standard input or output.
STANDARD: Final = "-"
#: Files of a folder (or a single file) read as one map each; anything else is JSON Lines.
MAP_SUFFIXES: Final = (".yaml", ".yml", ".json")
#: Records a worker plans per task: large enough that passing them costs little, small
#: enough that an interrupted run stops within milliseconds.
CHUNK: Final = 32
#: Chunks given to each worker ahead of the one being written.
WINDOW: Final = 4
#: Where problems are summarised rather than each printed.
PROBLEMS_SHOWN: Final = 1000
#: The start of every output line: its source (a JSON string) and whether a plan or errors
#: follow; a resumed run reads only this much of each line it keeps.
_HEAD: Final = re.compile(rb'\{"source":("(?:[^"\\]|\\.)*"),"(plan|errors)":')


@attrs.frozen
class Record:
    """One input record: where it came from, and its JSON text or map file."""

    file: str
    line: int | None = None  # its line in a JSON Lines file
    text: str | None = None  # a JSON line
    path: str | None = None  # a map file to read
    problem: str | None = None  # why it could not even be read
    data: dict[str, Any] | None = None  # a map a plugin's input format read (--from)
    label: str | None = None  # where such a map came from, as the input format says

    @property
    def source(self) -> str:
        """`file:line` for a JSON line, the file for a map file, the input format's label."""
        if self.label is not None:
            return self.label
        return self.file if self.line is None else f"{self.file}:{self.line}"


@attrs.frozen
class Outcome:
    """A record's output line (newline included) and what to tell the user about it."""

    line: bytes
    problems: tuple[str, ...] = ()


@attrs.frozen
class Planned:
    """The output lines of a chunk of records, in order, and what to tell the user."""

    lines: bytes
    count: int
    failed: int = 0
    problems: tuple[str, ...] = ()


@attrs.frozen
class Source:
    """What SOURCE names: standard input or a file of JSON Lines, a folder of map files, or
    a single map file."""

    name: str
    files: tuple[Path, ...] | None = None  # the map files; None for JSON Lines
    count: int | None = None  # records, when known in advance
    read: tuple[Record, ...] | None = None  # records a plugin's input format read (--from)

    @classmethod
    def read_with(cls, name: str, planner: Planner, input_format: str) -> Source:
        """SOURCE read whole by a plugin's input format (an agency's export)."""
        if name == STANDARD:
            raise BatchError("--from reads a file; standard input is JSON Lines only")
        found = planner.read_input(input_format, name)
        records = tuple(Record(name, data=r.data, label=r.source) for r in found)
        return cls(name, (Path(name),), len(records), records)

    @classmethod
    def open(cls, name: str) -> Source:
        """Look at SOURCE; raise BatchError when it cannot be read."""
        if name == STANDARD:
            return cls(name)
        path = Path(name)
        try:
            if path.is_dir():
                found = (p for p in path.iterdir() if p.suffix in MAP_SUFFIXES and p.is_file())
                files = tuple(sorted(found))
                return cls(name, files, len(files))
            if path.suffix in MAP_SUFFIXES:
                path.stat()
                return cls(name, (path,), 1)
            return cls(name, count=_count_lines(path))
        except OSError as exc:
            raise BatchError(f"cannot read {name}: {exc.strerror or exc}") from None

    @property
    def label(self) -> str:
        """The name records are reported under."""
        return "<stdin>" if self.name == STANDARD else self.name

    def identities(self) -> set[tuple[int, int]]:
        """(device, inode) of every file read, so an output can never overwrite one."""
        found = set()
        for path in (Path(self.name),) if self.files is None else self.files:
            with contextlib.suppress(OSError):
                status = os.fstat(0) if self.name == STANDARD else path.stat()
                found.add((status.st_dev, status.st_ino))
        return found

    def records(self) -> Iterator[Record]:
        """Every record, read as iterated."""
        if self.read is not None:
            return iter(self.read)
        if self.files is not None:
            return (Record(str(p), path=str(p)) for p in self.files)
        if self.name == STANDARD:
            return _lines(sys.stdin.buffer, self.label)
        return _file_lines(Path(self.name))


def _count_lines(path: Path) -> int:
    """Lines that are not blank, read in blocks so a line of gigabytes costs no memory."""
    count = 0
    content = False  # whether the line being read holds more than white space
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            *ended, rest = block.split(b"\n")
            for piece in ended:
                count += content or bool(piece.strip())
                content = False
            content = content or bool(rest.strip())
    return count + content


def _file_lines(path: Path) -> Iterator[Record]:
    with path.open("rb") as handle:
        yield from _lines(handle, str(path))


def _lines(handle: IO[bytes], name: str) -> Iterator[Record]:
    """JSON Lines split on \\n only: U+2028 and other line breaks inside a string are text
    (JSON allows them raw), and splitting there would shift every later line number."""
    for number in itertools.count(1):
        raw = handle.readline(MAX_MAP_CHARS + 1)
        if not raw:
            return
        if len(raw) > MAX_MAP_CHARS and not raw.endswith(b"\n"):
            while (rest := handle.readline(2**20)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the line without holding it
            problem = f"the line is longer than the limit of {MAX_MAP_CHARS // 2**20} MiB"
            yield Record(name, number, problem=problem)
            continue
        if not raw.strip():
            continue
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte order mark some editors write
        try:
            yield Record(name, number, text=raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield Record(name, number, problem=f"not UTF-8 text at byte {exc.start + 1}")


def plan_record(
    planner: Planner, record: Record, setting: str | None, log: DecisionLog | None = None
) -> Outcome:
    """A record's output line: its plan, or its errors. Never raises: a record that breaks
    anything, nmt-rules included, is reported as an error line instead of ending the run.
    With a decision log, every plan given is recorded there."""
    try:
        data = read_record(record)
        brain_map = data if isinstance(data, BrainMap) else parse_brain_map(data, record.source)
        plan = planner.plan(brain_map, setting)
        if log is not None:
            log.record(plan, brain_map, "batch")
        return Outcome(_line({"source": record.source, "plan": plan_to_dict(plan)}))
    except Exception as exc:  # a bug must cost one record, not the 10,000 plans around it
        problems = _problems(exc)
    errors = [
        {"path": p.path, "message": p.message}
        | ({"line": p.line, "col": p.col} if p.line is not None else {})
        for p in problems
    ]
    line = _line({"source": record.source, "errors": errors})
    return Outcome(line, tuple(_problem_text(record, p) for p in problems))


def plan_chunk(
    planner: Planner,
    records: Sequence[Record],
    setting: str | None,
    log: DecisionLog | None = None,
) -> Planned:
    """The outcomes of several records as one piece: what a worker sends back."""
    outcomes = [plan_record(planner, record, setting, log) for record in records]
    return Planned(
        b"".join(o.line for o in outcomes),
        len(outcomes),
        sum(bool(o.problems) for o in outcomes),
        tuple(p for o in outcomes for p in o.problems),
    )


def read_record(record: Record) -> BrainMap | dict[str, Any]:
    """A record's brain map: parsed from its map file, or its JSON line as data (validated
    when planned). InputError places a problem in the text at its line in the file."""
    if record.problem is not None:
        raise InputError([FieldProblem("", record.problem)], record.source)
    if record.data is not None:
        return record.data
    if record.path is not None:
        return load_brain_map(record.path)
    assert record.text is not None
    try:
        data = read_map_text(record.text, record.file, json_text=True)
    except InputError as exc:  # a JSON line: its column, at the line in the file
        placed = [attrs.evolve(p, line=record.line) if p.line else p for p in exc.problems]
        raise InputError(placed, record.file) from None
    if not isinstance(data, dict):
        raise InputError([FieldProblem("", "a record must be a JSON object (a brain map)")])
    return data


def problem_texts(record: Record, error: Exception) -> tuple[str, ...]:
    """What to tell the user about a record that could not be planned, one line a problem:
    `source: field: message`, or `file:line:col: message` for a problem in the text."""
    return tuple(_problem_text(record, p) for p in _problems(error))


def _problems(error: Exception) -> tuple[FieldProblem, ...]:
    if isinstance(error, InputError):
        return error.problems
    if isinstance(error, NmtRulesError):
        return (FieldProblem("", str(error)),)
    return (FieldProblem("", f"internal error: {type(error).__name__}: {error}"),)


def _line(content: dict[str, Any]) -> bytes:
    line = orjson.dumps(content)
    if not line.isascii() and any(raw in line for raw, _ in _LINE_BREAKS):
        # Legal raw in JSON, but line breaks to Python's str.splitlines and to JavaScript
        # before ES2019: escaped, the output splits into records on \n for every reader.
        for raw, escaped in _LINE_BREAKS:
            line = line.replace(raw, escaped)
    return line + b"\n"


_LINE_BREAKS: Final = (
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
    (b"\xc2\x85", b"\\u0085"),
)


def _problem_text(record: Record, problem: FieldProblem) -> str:
    if problem.line is None:
        return f"{record.source}: {problem}"
    return f"{record.file}:{problem.line}:{problem.col}: {problem}"


# --- planning in worker processes -------------------------------------------------------
#
# A small pool of our own rather than concurrent.futures: chunk i goes to worker i % N and
# its result is read back from that worker in the same order, so this process needs no
# helper threads, and each worker sends its ~36 kB plan lines through a pipe of its own,
# widened to 1 MiB, from a thread that lets it plan the next chunk meanwhile. On two cores
# that took two processes from 1.5x to about 1.7x the speed of one (`make bench`).


@attrs.frozen
class LogTo:
    """Where a batch run records the plans it gives: each process opens the decision log
    itself (SQLite in WAL mode takes several writers), with the plugins' sinks behind it."""

    path: str
    identifiers: bool = False

    def open(self, planner: Planner) -> DecisionLog:
        """The log, opened for this process."""
        return DecisionLog(self.path, log_identifiers=self.identifiers, sink=planner.send_decision)


def plan_records(
    records: Iterable[Record],
    planner: Planner,
    rulesets: tuple[str, ...],
    setting: str | None,
    jobs: int,
    log_to: LogTo | None = None,
) -> Iterator[Planned]:
    """Chunks of outcomes in input order. With jobs > 1, worker processes plan the chunks,
    a few per worker ahead of the one being written, so memory stays bounded. Workers are
    forked where that is safe (Linux, no other thread in this process whose locks a child
    could inherit) and take `planner` with a durable engine of their own, in milliseconds;
    elsewhere they start afresh from `rulesets` (the files `planner` was built from; none
    for the default), which takes half a second."""
    chunks = _chunks(records, CHUNK)
    head = list(itertools.islice(chunks, 2))
    if jobs <= 1 or len(head) < 2:  # one chunk: starting workers would cost more
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(log_to.open(planner)) if log_to is not None else None
            for chunk in itertools.chain(head, chunks):
                yield plan_chunk(planner, chunk, setting, log)
        return
    recipe: Planner | tuple[str, ...] = rulesets
    context: ForkContext | SpawnContext = multiprocessing.get_context("spawn")
    if sys.platform == "linux" and threading.active_count() == 1:
        recipe, context = planner, multiprocessing.get_context("fork")
    # Frozen, this process's objects are left alone by the children's garbage collector,
    # which would otherwise write to (and so copy) every page of a large host's heap.
    gc.freeze()
    try:
        workers = [_Worker.start(context, recipe, setting, log_to) for _ in range(jobs)]
    finally:
        gc.unfreeze()
    try:
        waiting: collections.deque[_Worker] = collections.deque()
        for index, chunk in enumerate(itertools.chain(head, chunks)):
            worker = workers[index % jobs]
            worker.send(chunk)
            waiting.append(worker)
            if len(waiting) >= WINDOW * jobs:
                yield waiting.popleft().receive()
        while waiting:
            yield waiting.popleft().receive()
    finally:
        for worker in workers:
            worker.stop()


@attrs.define
class _Worker:
    """One worker process: chunks go in through one pipe, planned chunks come back in the
    same order through another."""

    process: BaseProcess
    tasks: Connection
    results: Connection

    @classmethod
    def start(
        cls,
        context: ForkContext | SpawnContext,
        recipe: Planner | tuple[str, ...],
        setting: str | None,
        log_to: LogTo | None,
    ) -> _Worker:
        tasks_out, tasks_in = context.Pipe(duplex=False)
        results_out, results_in = context.Pipe(duplex=False)
        for end in (tasks_in, results_in):
            with contextlib.suppress(AttributeError, OSError):  # Linux only; only speed
                fcntl.fcntl(end.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        process = context.Process(
            target=_work,
            args=(tasks_out, results_in, os.getpid(), recipe, setting, log_to),
            daemon=True,
        )
        process.start()
        tasks_out.close()  # the worker's ends: only the worker may hold them, so that its
        results_in.close()  # death reads as the end of its results here
        return cls(process, tasks_in, results_out)

    def send(self, chunk: list[Record]) -> None:
        """Give the worker a chunk to plan."""
        try:
            self.tasks.send(chunk)
        except OSError:
            raise self._died() from None

    def receive(self) -> Planned:
        """The oldest chunk the worker was given, planned."""
        try:
            count, failed, problems = pickle.loads(self.results.recv_bytes())
            lines = self.results.recv_bytes()  # apart: the lines are copied once less
        except (EOFError, OSError):
            raise self._died() from None
        return Planned(lines, count, failed, problems)

    def _died(self) -> BatchError:
        self.process.join(timeout=1)
        return BatchError(
            f"a worker process died (exit code {self.process.exitcode}): run again with --resume"
        )

    def stop(self) -> None:
        """End the worker: at once if it is still planning (the run was interrupted)."""
        with contextlib.suppress(OSError):
            self.tasks.send(None)
        self.tasks.close()
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.results.close()


#: Bytes a pipe between this process and a worker holds: 1 MiB, Linux's usual maximum for
#: an unprivileged process, against 64 KiB by default.
_PIPE_BYTES: Final = 2**20


def _work(
    tasks: Connection,
    results: Connection,
    parent: int,
    recipe: Planner | tuple[str, ...],
    setting: str | None,
    log_to: LogTo | None,
) -> None:
    """A worker's life: build a planner, then plan each chunk it is given until told to
    stop, sending results from a thread so planning goes on while a result waits to be read."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the workers
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    planner = recipe.for_this_process() if isinstance(recipe, Planner) else planner_with(recipe)
    outbox: queue.SimpleQueue[Planned | None] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(outbox, results))
    sender.start()
    log = log_to.open(planner) if log_to is not None else None
    try:
        while (chunk := tasks.recv()) is not None:
            outbox.put(plan_chunk(planner, chunk, setting, log))
    except EOFError:
        pass  # the parent is gone
    finally:
        outbox.put(None)
        sender.join()
        if log is not None:
            log.close()


def _send_all(outbox: queue.SimpleQueue[Planned | None], results: Connection) -> None:
    with contextlib.suppress(OSError):  # the parent stopped reading: nothing left to do
        while (planned := outbox.get()) is not None:
            results.send_bytes(pickle.dumps((planned.count, planned.failed, planned.problems)))
            results.send_bytes(planned.lines)


def _end_with(parent: int) -> None:
    """End this worker once its parent is gone (killed outright, it cannot stop them)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def default_jobs() -> int:
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


# --- output ---------------------------------------------------------------------------


@attrs.define
class Output:
    """Where output lines go: standard output, or OUT.partial renamed over OUT at the end."""

    name: str
    file: PartialFile | None = None  # None for standard output
    kept: int = 0  # records an earlier run planned, kept by --resume
    kept_failed: int = 0
    last_source: str | None = None  # of the last line kept

    @classmethod
    def open(cls, name: str, source: Source, resume: bool) -> Output:
        """Open OUT for writing; raise BatchError when that would lose data or cannot work."""
        if name == STANDARD:
            if resume:
                raise BatchError("--resume needs an output file, not standard output")
            return cls("<stdout>")
        inputs = source.identities()
        target, partial = PartialFile.paths(name)
        for path in (target, partial):
            with contextlib.suppress(OSError):
                status = path.stat()
                if (status.st_dev, status.st_ino) in inputs:
                    raise BatchError(
                        f"{name} is the input {source.label}: refusing to overwrite it"
                    )
        if partial.exists() and not resume:
            raise BatchError(
                f"{partial} holds the plans of an interrupted run: add --resume to continue "
                "it, or delete it to start again"
            )
        try:
            file = PartialFile.open(name, resume)
        except OSError as exc:
            raise BatchError(f"cannot write {name}: {exc.strerror or exc}") from None
        output = cls(name, file)
        if resume:
            file.resume(output._keep)
        return output

    def _keep(self, line: bytes) -> bool:
        head = _HEAD.match(line)
        if head is None:
            return False
        self.kept += 1
        self.kept_failed += head.group(2) == b"errors"
        self.last_source = orjson.loads(head.group(1))
        return True

    @property
    def partial(self) -> Path | None:
        """Where the plans of an unfinished run are."""
        return None if self.file is None else self.file.partial

    def write(self, lines: bytes) -> None:
        """Write whole output lines."""
        if self.file is None:
            sys.stdout.buffer.write(lines)
        else:
            self.file.write(lines)

    def finish(self) -> None:
        """The run is complete."""
        if self.file is None:
            sys.stdout.buffer.flush()
        else:
            self.file.finish()

    def stop(self) -> None:
        """The run is interrupted: keep whole lines only, for a resumed run."""
        if self.file is not None:
            self.file.stop()


@attrs.define
class Summary:
    """What a run did."""

    records: int = 0
    failed: int = 0
    kept: int = 0  # planned by an earlier run and kept (--resume)
    problems: list[str] = attrs.Factory(list)
    unshown: int = 0


def run(
    source: Source,
    output: Output,
    planner: Planner,
    rulesets: tuple[str, ...],
    setting: str | None,
    jobs: int,
    progress: Callable[[int], None] = lambda _: None,
    log_to: LogTo | None = None,
) -> Summary:
    """Plan every record of source into output; `progress` hears of each record done.
    On any interruption (KeyboardInterrupt included) the output keeps whole lines only."""
    summary = Summary(kept=output.kept, failed=output.kept_failed)
    try:
        records = _skip(source.records(), output)
        progress(output.kept)
        for planned in plan_records(records, planner, rulesets, setting, jobs, log_to):
            output.write(planned.lines)
            summary.records += planned.count
            summary.failed += planned.failed
            room = max(PROBLEMS_SHOWN - len(summary.problems), 0)
            summary.problems += planned.problems[:room]
            summary.unshown += max(len(planned.problems) - room, 0)
            progress(planned.count)
        output.finish()
    except BaseException as exc:
        output.stop()
        if isinstance(exc, OSError):  # a full disk, an input that went away
            kept = f"; the plans so far are in {output.partial}" if output.partial else ""
            raise BatchError(f"batch stopped: {exc}{kept} (--resume continues)") from None
        raise
    return summary


def _skip(records: Iterator[Record], output: Output) -> Iterator[Record]:
    """The records after those an earlier run planned into the kept output, which must be
    the same input's first records."""
    skipped = collections.deque(itertools.islice(records, output.kept), maxlen=1)
    last = skipped[0] if skipped else None
    if output.kept and (last is None or last.source != output.last_source):
        found = f"record {output.kept} is {last.source}" if last else "there are fewer records"
        raise BatchError(
            f"{output.partial} does not continue this input: its last plan is for "
            f"{output.last_source} but {found}; delete it to start again"
        )
    return records
