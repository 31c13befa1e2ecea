"""The nmt-rules command line. Exit codes: 0 ok, 1 check/test failures, 2 usage or input errors."""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import click

from .api import planner_with, version
from .batch import Output, Source, default_jobs, run
from .brainmap import load_brain_map
from .check import check_paths
from .errors import EngineError, NmtRulesError
from .explain import explain, trace_to_json, trace_to_text
from .golden import coverage, format_failure, load_cases, run_case
from .plugins import ENTRY_POINT_GROUP, PLUGINS_ENV, load_plugins
from .report import plan_to_html, plan_to_json, plan_to_text
from .schemas import SCHEMAS, schema_text, write_schemas

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FAILURES = 1
EXIT_INPUT = 2
#: Where `nmt-rules test` looks for golden cases when given no path.
DEFAULT_CASES: Final = Path("tests/golden")


def _reports_errors(command: F) -> F:
    """Turn nmt-rules errors into a clear message and the documented exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EngineError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_FAILURES)
        except NmtRulesError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT)

    return wrapper  # type: ignore[return-value]


_RULESET_OPTION = click.option(
    "--ruleset",
    "rulesets",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Use these ruleset files instead of the core ruleset (repeatable).",
)
_FORMAT_OPTION = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version(), prog_name="nmt-rules")
def main() -> None:
    """Decision support for neurosequential, brain-based trauma care.

    Not a diagnostic tool; not affiliated with the Neurosequential Network. Decision support
    for trained professionals.
    """


@main.command()
@click.argument("brain_map", type=click.Path(dir_okay=False))
@click.option("--setting", "-s", help="Setting that delivers the plan (overrides the map's).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="text for a person, json for a host application, html for a printable report.",
)
@_RULESET_OPTION
@_reports_errors
def recommend(brain_map: str, setting: str | None, fmt: str, rulesets: tuple[str, ...]) -> None:
    """Print the sequenced, explained plan for BRAIN_MAP (YAML or JSON)."""
    parsed = load_brain_map(brain_map)
    planner = planner_with(rulesets)
    plan = planner.plan(parsed, setting)
    render = {"json": plan_to_json, "html": plan_to_html, "text": plan_to_text}[fmt]
    click.echo(render(plan), nl=fmt == "json")


@main.command("plugins")
@_FORMAT_OPTION
@_reports_errors
def plugins_command(fmt: str) -> None:
    """List setting plugins: version, settings, catalogue sizes, and any that failed."""
    found = load_plugins()
    rows = [p.summary() for p in found.plugins]
    if fmt == "json":
        click.echo(json.dumps({"plugins": rows}, indent=2))
    elif not found.plugins:
        click.echo(f"no plugins loaded (entry-point group '{ENTRY_POINT_GROUP}', {PLUGINS_ENV})")
    for plugin in found.plugins if fmt == "text" else ():
        if plugin.error:
            click.echo(f"{plugin.name} {plugin.version}  FAILED: {plugin.error}")
            continue
        sizes = ", ".join(f"{c.name} {c.version} ({len(c.items)} items)" for c in plugin.catalogues)
        extra = "".join(f"; ruleset {r.name} ({len(r.rules)} rules)" for r in plugin.rulesets)
        settings = ", ".join(plugin.settings) or "-"
        click.echo(
            f"{plugin.name} {plugin.version}  settings: {settings}  catalogues: {sizes or '-'}{extra}"
        )
    if found.failed:
        sys.exit(EXIT_FAILURES)


@main.command()
@click.argument("source")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON Lines file to write, or - for standard output.",
)
@click.option("--setting", "-s", help="Setting for every map (overrides each map's).")
@_RULESET_OPTION
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Worker processes (default: every core). The output is the same for any number.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue an interrupted run from the plans kept in OUT.partial.",
)
@_reports_errors
def batch(
    source: str,
    out: str,
    setting: str | None,
    rulesets: tuple[str, ...],
    jobs: int | None,
    resume: bool,
) -> None:
    """Plan every brain map in SOURCE: a JSON Lines file (one map per line), a folder of
    YAML/JSON maps, a single map file, or - for JSON Lines on standard input.

    Each output line holds the record's source and its plan, or its errors. Bad records
    are reported on stderr and the rest go on; lines come in input order. OUT is written
    to OUT.partial and renamed when complete; after an interruption, --resume continues
    from it. Exit 1 if any record failed, 130 or 143 when interrupted.
    """
    planner = planner_with(rulesets)
    if setting is not None:
        planner.check_setting(setting)
    records = Source.open(source)
    output = Output.open(out, records, resume)
    stopped: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        stopped.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        with _progress(records.count) as progress:
            summary = run(
                records, output, planner, rulesets, setting, jobs or default_jobs(), progress
            )
    except KeyboardInterrupt:
        signum = stopped[0] if stopped else signal.SIGINT
        kept = f"; the plans made so far are in {output.partial}" if output.partial else ""
        click.echo(f"\ninterrupted{kept}: run again with --resume to finish", err=True)
        sys.exit(128 + signum)
    finally:
        signal.signal(signal.SIGTERM, previous)
    for problem in summary.problems:
        click.echo(problem, err=True)
    if summary.unshown:
        click.echo(f"... and {summary.unshown} more problems (see the output)", err=True)
    total = summary.records + summary.kept
    resumed = f" ({summary.kept} kept from the interrupted run)" if summary.kept else ""
    click.echo(
        f"{summary.failed} of {total} records failed{resumed}; plans written to {out}", err=True
    )
    if summary.failed:
        sys.exit(EXIT_FAILURES)


@contextlib.contextmanager
def _progress(count: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (click draws it only on a terminal); none when the number of
    records is not known in advance (standard input)."""
    if count is None:
        yield lambda _: None
        return
    with click.progressbar(length=count, label="planning", file=sys.stderr) as bar:
        yield bar.update


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the HTTP JSON API and CDS Hooks service (see README)."""
    import uvicorn  # imported here: only this command needs the server stack

    uvicorn.run("nmt_rules.server:create_app", factory=True, host=host, port=port, workers=workers)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_FORMAT_OPTION
@_reports_errors
def check(paths: tuple[Path, ...], fmt: str) -> None:
    """Validate and lint rulesets and catalogues (files or directories).

    Prints every problem as file:line:col: level: message and exits 1 if any is an error.
    Plugin rulesets and catalogues are checked together with the installed core ruleset.
    """
    report = check_paths(paths)
    if fmt == "json":
        rows = [attrs.asdict(d) for d in report.diagnostics]
        click.echo(json.dumps({"files": report.files, "diagnostics": rows}, indent=2))
    else:
        for diagnostic in report.diagnostics:
            click.echo(str(diagnostic))
        click.echo(
            f"checked {report.files} file(s): {report.errors} error(s), {report.warnings} warning(s)",
            err=True,
        )
    if report.errors:
        sys.exit(EXIT_FAILURES)


@main.command()
@click.argument("name", required=False, type=click.Choice(sorted(SCHEMAS)))
@click.option(
    "--write",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write all four schemas into this directory instead of printing one.",
)
@_reports_errors
def schema(name: str | None, directory: Path | None) -> None:
    """Print the JSON Schema of a brain map, plan, ruleset or catalogue."""
    if (name is None) == (directory is None):
        raise click.UsageError("give a schema NAME to print, or --write DIR to write all four")
    if directory is not None:
        for path in write_schemas(directory):
            click.echo(f"wrote {path}")
        return
    assert name is not None
    click.echo(schema_text(name), nl=False)


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--coverage", "show_coverage", is_flag=True, help="Report rules no case fired.")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    help="Fail when fewer than this percent of rules fired in some case (implies --coverage).",
)
@_RULESET_OPTION
@_reports_errors
def test_command(
    paths: tuple[Path, ...],
    show_coverage: bool,
    min_coverage: float | None,
    rulesets: tuple[str, ...],
) -> None:
    """Run golden cases (default: ./tests/golden) and report failures as readable diffs."""
    if not paths:
        if not DEFAULT_CASES.is_dir():
            raise click.UsageError(
                f"give case files or directories; ./{DEFAULT_CASES} does not exist"
            )
        paths = (DEFAULT_CASES,)
    planner = planner_with(rulesets)
    cases, problems = load_cases(paths, planner)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_INPUT)
    if not cases:
        raise click.UsageError("no golden cases found")
    results = [run_case(planner, case) for case in cases]
    failed = [r for r in results if not r.passed]
    for result in failed:
        click.echo(format_failure(result))
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    below = False
    if show_coverage or min_coverage is not None:
        report = coverage(planner, results)
        total = len(report.fired) + len(report.missed)
        click.echo(f"coverage: {len(report.fired)}/{total} rules fired ({report.percent:.1f}%)")
        for rule, where in report.missed:
            click.echo(f"  never fired: {rule}  ({where})")
        below = min_coverage is not None and report.percent < min_coverage
        if below:
            click.echo(f"coverage {report.percent:.1f}% is below --min-coverage {min_coverage:g}")
    if failed or below:
        sys.exit(EXIT_FAILURES)


@main.command("explain")
@click.argument("brain_map", type=click.Path(dir_okay=False))
@click.option("--setting", "-s", help="Setting that delivers the plan (overrides the map's).")
@_FORMAT_OPTION
@_RULESET_OPTION
@_reports_errors
def explain_command(
    brain_map: str, setting: str | None, fmt: str, rulesets: tuple[str, ...]
) -> None:
    """Trace one evaluation of BRAIN_MAP stage by stage: facts, firings, needs, deferrals."""
    parsed = load_brain_map(brain_map)
    trace = explain(planner_with(rulesets), parsed, setting)
    click.echo(trace_to_json(trace) if fmt == "json" else trace_to_text(trace), nl=fmt == "json")


if __name__ == "__main__":  # python -m nmt_rules.cli
    main()
