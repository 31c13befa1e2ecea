"""The nmt-rules command line. Exit codes: 0 ok, 1 check/test failures, 2 usage or input errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import ipaddress
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import click
import orjson

from ._files import atomic_writer
from ._json import loads as json_loads
from ._yaml import MAX_DOCUMENT_CHARS, read_text
from .api import Planner, planner_with, version
from .batch import LogTo, Output, Source, default_jobs, run
from .brainmap import brain_map_data, load_brain_map, parse_brain_map
from .check import check_paths, files_to_check
from .decision_log import DecisionLog, export_decisions
from .diff import diff_plans, diff_to_dict, diff_to_text, records_of
from .errors import (
    Diagnostic,
    DocumentError,
    EngineError,
    FieldProblem,
    InputError,
    NmtRulesError,
)
from .explain import explain, find_rule, trace_to_json, trace_to_text, why_not, why_not_to_text
from .fhir import brain_map_to_response, questionnaire, response_to_brain_map
from .fmt import format_file
from .golden import coverage, format_failure, load_cases, run_case
from .model import BrainMap
from .plugins import ENTRY_POINT_GROUP, PLUGINS_ENV, load_plugins
from .report import AUDIENCES, render
from .ruleset import core_ruleset, load_ruleset
from .scaffold import plugin_spec, write_plugin
from .schemas import SCHEMAS, schema_text, write_schemas
from .service_config import (
    CONFIG_ENV,
    RESOLVED_ENV,
    TOKENS_ENV,
    load_service_config,
    resolved_text,
)

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
_DECISION_LOG_OPTION = click.option(
    "--decision-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record each plan given in this SQLite decision log (created if missing).",
)
_LOG_IDENTIFIERS_OPTION = click.option(
    "--log-identifiers",
    is_flag=True,
    help="Also record the subject id and the whole brain map (scores, free text) in the log.",
)
_FROM_OPTION = click.option(
    "--from",
    "input_format",
    metavar="NAME",
    help="Read the input with a plugin's input format (an agency's own export; "
    "`nmt-rules plugins` lists them).",
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
@_FROM_OPTION
@_DECISION_LOG_OPTION
@_LOG_IDENTIFIERS_OPTION
@_reports_errors
def recommend(
    brain_map: str,
    setting: str | None,
    fmt: str,
    audience: str,
    output: str | None,
    rulesets: tuple[str, ...],
    input_format: str | None,
    decision_log: Path | None,
    log_identifiers: bool,
) -> None:
    """Print the sequenced, explained plan for BRAIN_MAP (YAML or JSON, or --from NAME)."""
    planner = planner_with(rulesets)
    if input_format is None:
        parsed = load_brain_map(brain_map)
    else:
        parsed = _read_one(planner, input_format, brain_map)
    plan = planner.plan(parsed, setting)
    report = render(plan, fmt, audience)
    _warn_plugin_failures(planner)
    if decision_log is not None:
        with DecisionLog(
            decision_log, log_identifiers=log_identifiers, sink=planner.send_decision
        ) as log:
            log.record(plan, parsed, "cli")
    if output is None:
        click.echo(report, nl=False)
        return
    with atomic_writer(output) as handle:
        handle.write(report)


def _read_one(planner: Planner, input_format: str, path: str) -> BrainMap:
    """The one brain map a file holds, read with a plugin's input format."""
    records = planner.read_input(input_format, path)
    if len(records) != 1:
        problem = (
            f"input format {input_format!r} read {len(records)} brain maps from the file; "
            "recommend plans one (batch --from plans many)"
        )
        raise InputError([FieldProblem("", problem)], path)
    return parse_brain_map(records[0].data, records[0].source)


def _warn_plugin_failures(planner: Planner) -> None:
    for failure in planner.plugin_failures:
        click.echo(f"warning: {failure}", err=True)


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
            click.echo(f"{plugin.name} {plugin.version}  DISABLED: {plugin.error}")
            continue
        sizes = ", ".join(f"{c.name} {c.version} ({len(c.items)} items)" for c in plugin.catalogues)
        extra = "".join(f"; ruleset {r.name} ({len(r.rules)} rules)" for r in plugin.rulesets)
        extra += "".join(f"; input format {f.name}" for f in plugin.input_formats)
        settings = ", ".join(plugin.settings) or "-"
        click.echo(
            f"{plugin.name} {plugin.version}  settings: {settings}  catalogues: {sizes or '-'}{extra}"
        )
        for warning in plugin.warnings:
            click.echo(f"  warning: {warning}")
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
@_FROM_OPTION
@_DECISION_LOG_OPTION
@_LOG_IDENTIFIERS_OPTION
@_reports_errors
def batch(
    source: str,
    out: str,
    setting: str | None,
    rulesets: tuple[str, ...],
    jobs: int | None,
    resume: bool,
    input_format: str | None,
    decision_log: Path | None,
    log_identifiers: bool,
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
    if input_format is None:
        records = Source.open(source)
    else:
        records = Source.read_with(source, planner, input_format)
    log_to = None if decision_log is None else LogTo(str(decision_log), log_identifiers)
    output = Output.open(out, records, resume)
    stopped: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        stopped.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        with _progress(records.count) as progress:
            summary = run(
                records,
                output,
                planner,
                rulesets,
                setting,
                jobs or default_jobs(),
                progress,
                log_to,
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
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help=f"TOML configuration file (default: ${CONFIG_ENV}). See README.",
)
@_RULESET_OPTION
@_DECISION_LOG_OPTION
@_LOG_IDENTIFIERS_OPTION
@click.option(
    "--insecure",
    is_flag=True,
    help="Listen on a non-loopback address without authentication (never for real data).",
)
@_reports_errors
def serve(
    host: str,
    port: int,
    workers: int,
    config_path: str | None,
    rulesets: tuple[str, ...],
    decision_log: Path | None,
    log_identifiers: bool,
    insecure: bool,
) -> None:
    """Serve the HTTP JSON API and the CDS Hooks services (see README).

    Authentication is off until configured; a non-loopback HOST needs it (or --insecure).
    """
    import uvicorn  # imported here: only this command needs the server stack

    from ._http import GuardedHttpToolsProtocol

    config = load_service_config(
        config_path,
        rulesets=tuple(str(Path(r).resolve()) for r in rulesets),
        decision_log=str(decision_log) if decision_log else None,
        log_identifiers=log_identifiers or None,
    ).with_report_key()
    missing = [
        what
        for what, configured in (
            (f"API tokens (${TOKENS_ENV} or api_tokens_sha256)", config.api_auth),
            ("CDS Hooks issuers (cds_issuers)", config.cds_auth),
        )
        if not configured
    ]
    if missing and not _is_loopback(host) and not insecure:
        raise click.UsageError(
            f"refusing to listen on {host} without authentication: configure "
            + " and ".join(missing)
            + ", or pass --insecure"
        )
    for ruleset in config.rulesets:
        load_ruleset(ruleset)  # a broken ruleset is reported here, not by every worker
    os.environ[RESOLVED_ENV] = resolved_text(config)  # the workers' configuration
    uvicorn.run(
        "nmt_rules.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=GuardedHttpToolsProtocol,
        limit_concurrency=config.max_connections,
        timeout_keep_alive=config.keep_alive_timeout_s,
        timeout_graceful_shutdown=config.shutdown_timeout_s,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_FORMAT_OPTION
@_reports_errors
def check(paths: tuple[Path, ...], fmt: str) -> None:
    """Validate and lint rulesets, catalogues and plugin folders (files or directories).

    Prints every problem as file:line:col: level: message and exits 1 if any is an error.
    A plugin folder is loaded through its hooks. Everything is checked together with the
    installed core ruleset and plugins. With no PATHS: the installed core ruleset and every
    installed plugin.
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


@main.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would change."
)
@_reports_errors
def fmt_command(paths: tuple[Path, ...], check_only: bool) -> None:
    """Put ruleset and catalogue YAML (files or directories) in canonical key order.

    Comments, quoting and layout are kept; files of other kinds are skipped. With --check
    (for CI), list the files that would change and exit 1 if any would.
    """
    changed: list[Path] = []
    problems: list[Diagnostic] = []
    for path, _ in files_to_check(paths):
        result = format_file(path)
        if isinstance(result, Diagnostic):
            problems.append(result)
        elif result.changed:
            changed.append(path)
            if not check_only:
                assert result.after is not None
                with atomic_writer(path) as handle:
                    handle.write(result.after)
    for problem in problems:
        click.echo(str(problem), err=True)
    verb = "would reformat" if check_only else "reformatted"
    for path in changed:
        click.echo(f"{verb} {path}")
    click.echo(f"{len(changed)} file(s) {verb}", err=True)
    if problems:
        sys.exit(EXIT_INPUT)
    if check_only and changed:
        sys.exit(EXIT_FAILURES)


@main.command("new-plugin")
@click.argument("name")
@click.option("--setting", help="The setting it serves (default: NAME).")
@click.option("--ages", required=True, help="Ages the setting serves: A-B, whole years.")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write nmt-rules-NAME into.",
)
@_reports_errors
def new_plugin(name: str, setting: str | None, ages: str, parent: Path) -> None:
    """Write a complete setting plugin, nmt-rules-NAME, ready to install and edit.

    It holds a catalogue with a TODO item for every core need at those ages, a golden case,
    a test, the JSON Schemas its YAML points to, and a pyproject whose wheel ships the YAML.
    """
    spec = plugin_spec(name, setting, ages)
    root = write_plugin(spec, core_ruleset(), parent)
    click.echo(f"wrote {root}")
    click.echo(
        f"next: pip install -e {root}; nmt-rules check {root}; replace the TODO items in "
        f"{root / 'src' / spec.package / 'catalogue.yaml'}"
    )


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
        # The header path is relative to the YAML file, so a copied ruleset needs its own.
        click.echo(
            "first line of a ruleset in this folder (the path is relative to the file):\n"
            f"# yaml-language-server: $schema={directory.as_posix()}/ruleset.schema.json"
        )
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
@click.option(
    "--coverage-of",
    "coverage_of",
    metavar="RULESET",
    help="Count coverage of this ruleset's rules only (its name; implies --coverage).",
)
@_RULESET_OPTION
@_reports_errors
def test_command(
    paths: tuple[Path, ...],
    show_coverage: bool,
    min_coverage: float | None,
    coverage_of: str | None,
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
    names = [r.name for r in planner.rulesets]
    if coverage_of is not None and coverage_of not in names:
        raise click.BadParameter(
            f"no ruleset {coverage_of!r} is loaded; loaded: {', '.join(names)}",
            param_hint="--coverage-of",
        )
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
    if show_coverage or min_coverage is not None or coverage_of is not None:
        report = coverage(planner, results, coverage_of)
        total = len(report.fired) + len(report.missed)
        of = f" of {coverage_of}" if coverage_of else ""
        click.echo(f"coverage{of}: {len(report.fired)}/{total} rules fired ({report.percent:.1f}%)")
        for rule, where in report.missed:
            click.echo(f"  never fired: {rule}  ({where})")
        below = min_coverage is not None and report.percent < min_coverage
        if below:
            click.echo(f"coverage {report.percent:.1f}% is below --min-coverage {min_coverage:g}")
    if failed or below:
        sys.exit(EXIT_FAILURES)


@main.command("diff")
@click.argument("maps", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--ruleset",
    "rulesets",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="The new ruleset files (repeatable).",
)
@click.option(
    "--base",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="The ruleset files to compare with (repeatable; default: the installed ones).",
)
@click.option("--setting", "-s", help="Setting for every map (overrides each map's).")
@_FORMAT_OPTION
@_reports_errors
def diff_command(
    maps: tuple[Path, ...],
    rulesets: tuple[str, ...],
    base: tuple[str, ...],
    setting: str | None,
    fmt: str,
) -> None:
    """How plans change with the new rulesets: MAPS are map files, folders or JSON Lines.

    Prints how many plans change and, per need, in how many plans it was added, removed or
    changed status, with example map ids. Exit 1 if some map could not be planned.
    """
    new_planner, base_planner = planner_with(rulesets), planner_with(base)
    if setting is not None:
        new_planner.check_setting(setting)
    result = diff_plans(base_planner, new_planner, records_of(maps), setting)
    labels = list(base) or ["installed rulesets"], list(rulesets)
    if fmt == "json":
        click.echo(json.dumps(diff_to_dict(result, *labels), indent=2))
    else:
        click.echo(diff_to_text(result, *labels), nl=False)
    for problem in result.failed:
        click.echo(problem, err=True)
    if result.failed:
        sys.exit(EXIT_FAILURES)


@main.command("explain")
@click.argument("brain_map", type=click.Path(dir_okay=False))
@click.option("--setting", "-s", help="Setting that delivers the plan (overrides the map's).")
@_FORMAT_OPTION
@_RULESET_OPTION
@click.option(
    "--why-not",
    "rule_id",
    metavar="RULE",
    help="Show which of RULE's tests held and which failed, with the fact values.",
)
@_reports_errors
def explain_command(
    brain_map: str, setting: str | None, fmt: str, rulesets: tuple[str, ...], rule_id: str | None
) -> None:
    """Trace one evaluation of BRAIN_MAP stage by stage: facts, firings, needs, deferrals.

    With --why-not RULE (`ruleset/rule` or a rule id), show instead why that rule did or did
    not fire: each of its tests with the value of the fact it tests.
    """
    parsed = load_brain_map(brain_map)
    planner = planner_with(rulesets)
    if rule_id is None:
        trace = explain(planner, parsed, setting)
        click.echo(
            trace_to_json(trace) if fmt == "json" else trace_to_text(trace), nl=fmt == "json"
        )
        return
    found = find_rule(planner, rule_id)
    if isinstance(found, list):
        hint = f"; did you mean {', '.join(found)}?" if found else ""
        raise click.BadParameter(f"no single rule {rule_id!r}{hint}", param_hint="--why-not")
    result = why_not(planner, parsed, found, setting)
    click.echo(
        trace_to_json(result) if fmt == "json" else why_not_to_text(result), nl=fmt == "json"
    )


@main.group()
def fhir() -> None:
    """The brain map in FHIR R4: a Questionnaire, and QuestionnaireResponses to and from maps."""


@fhir.command("questionnaire")
def fhir_questionnaire() -> None:
    """Print the brain map as a FHIR R4 Questionnaire (JSON)."""
    click.echo(_json_text(questionnaire()))


@fhir.command("to-brain-map")
@click.argument("response", type=click.Path(dir_okay=False))
@_reports_errors
def fhir_to_brain_map(response: str) -> None:
    """Print the brain map (JSON) a FHIR QuestionnaireResponse file holds.

    Problems are reported by their path in the resource and exit 2.
    """
    try:
        data = json_loads(read_text(response, MAX_DOCUMENT_CHARS), MAX_DOCUMENT_CHARS)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([FieldProblem("", f"cannot read file: {exc}")], response) from None
    except DocumentError as exc:
        problem = FieldProblem("", exc.message, exc.line, exc.col)
        raise InputError([problem], response) from None
    click.echo(_json_text(brain_map_data(response_to_brain_map(data, response))))


@fhir.command("from-brain-map")
@click.argument("brain_map", type=click.Path(dir_okay=False))
@click.option("--subject", help="FHIR reference of the person, e.g. Patient/123.")
@_reports_errors
def fhir_from_brain_map(brain_map: str, subject: str | None) -> None:
    """Print a completed FHIR QuestionnaireResponse holding BRAIN_MAP (YAML or JSON)."""
    click.echo(_json_text(brain_map_to_response(load_brain_map(brain_map), subject)))


def _json_text(data: Any) -> str:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


@main.command("log")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    help="Only decisions from this date or time on (UTC unless an offset is given).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@_reports_errors
def log_command(path: Path, since: dt.datetime | None, fmt: str) -> None:
    """Export the decision log at PATH: one decision a line (JSON Lines) or a CSV table.

    Each decision carries its cards and the CDS Hooks feedback received on them.
    """
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    for chunk in export_decisions(path, "csv" if fmt == "csv" else "jsonl", since):
        click.echo(chunk, nl=False)


if __name__ == "__main__":  # python -m nmt_rules.cli
    main()
