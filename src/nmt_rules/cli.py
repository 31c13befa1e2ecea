"""The nmt-rules command line. Exit codes: 0 ok, 1 check/test failures, 2 usage or input errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import click
import orjson

from ._files import atomic_writer
from .api import Planner, default_planner, planner_for, version
from .batch import plan_record, read_records
from .brainmap import load_brain_map
from .check import check_paths
from .errors import EngineError, NmtRulesError
from .explain import explain, trace_to_json, trace_to_text
from .golden import coverage, format_failure, load_cases, run_case
from .plugins import ENTRY_POINT_GROUP, PLUGINS_ENV, load_plugins
from .report import AUDIENCES, render
from .ruleset import load_ruleset
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


def _planner_with(rulesets: tuple[str, ...]) -> Planner:
    """The default planner, or one running these ruleset files with the installed catalogues."""
    if not rulesets:
        return default_planner()
    return planner_for(tuple(load_ruleset(r) for r in rulesets))


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
@click.option(
    "--audience",
    type=click.Choice(AUDIENCES),
    default="clinician",
    show_default=True,
    help="clinician: the full report; caregiver, teacher or person: a plain-language handout "
    "(text and html).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the report to this file (atomically) instead of printing it.",
)
@_RULESET_OPTION
@_reports_errors
def recommend(
    brain_map: str,
    setting: str | None,
    fmt: str,
    audience: str,
    output: str | None,
    rulesets: tuple[str, ...],
) -> None:
    """Print the sequenced, explained plan for BRAIN_MAP (YAML or JSON)."""
    parsed = load_brain_map(brain_map)
    planner = _planner_with(rulesets)
    plan = planner.plan(parsed, setting)
    report = render(plan, fmt, audience)
    if output is None:
        click.echo(report, nl=False)
        return
    with atomic_writer(output) as handle:
        handle.write(report)


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
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False), required=True, help="JSON Lines file to write."
)
@click.option("--setting", "-s", help="Setting for every map (overrides each map's).")
@_reports_errors
def batch(source: str, out: str, setting: str | None) -> None:
    """Plan every brain map in SOURCE (a JSON Lines file or a folder of YAML/JSON maps).

    Each output line holds the record's source and its plan, or its errors by field path.
    Bad records are reported on stderr and the rest go on; OUT is written atomically.
    Exit 1 if any record failed.
    """
    planner = default_planner()
    if setting is not None:
        planner.check_setting(setting)
    count, records = read_records(source)
    problems: list[str] = []
    failed = 0
    with (
        atomic_writer(out) as handle,
        click.progressbar(records, length=count, label="planning", file=sys.stderr) as bar,
    ):
        for record in bar:
            line = plan_record(planner, record, setting)
            for error in line.get("errors", ()):
                path = f"{error['path']}: " if error["path"] else ""
                problems.append(f"{line['source']}: {path}{error['message']}")
            failed += "errors" in line
            handle.write(orjson.dumps(line).decode() + "\n")
    for problem in problems:
        click.echo(problem, err=True)
    click.echo(f"{failed} of {count} records failed; plans written to {out}", err=True)
    if failed:
        sys.exit(EXIT_FAILURES)


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
    planner = _planner_with(rulesets)
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
    trace = explain(_planner_with(rulesets), parsed, setting)
    click.echo(trace_to_json(trace) if fmt == "json" else trace_to_text(trace), nl=fmt == "json")


if __name__ == "__main__":  # python -m nmt_rules.cli
    main()
