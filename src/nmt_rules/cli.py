"""The nmt-rules command line. Exit codes: 0 ok, 1 check/test failures, 2 usage or input errors."""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import os
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
from .brainmap import brain_map_data, load_brain_map
from .check import check_paths
from .decision_log import DecisionLog, export_decisions
from .errors import EngineError, FieldProblem, InputError, NmtRulesError
from .explain import explain, trace_to_json, trace_to_text
from .fhir import brain_map_to_response, questionnaire, response_to_brain_map
from .golden import coverage, format_failure, load_cases, run_case
from .plugins import ENTRY_POINT_GROUP, PLUGINS_ENV, load_plugins
from .report import AUDIENCES, render
from .ruleset import load_ruleset
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
    decision_log: Path | None,
    log_identifiers: bool,
) -> None:
    """Print the sequenced, explained plan for BRAIN_MAP (YAML or JSON)."""
    parsed = load_brain_map(brain_map)
    planner = _planner_with(rulesets)
    plan = planner.plan(parsed, setting)
    report = render(plan, fmt, audience)
    if decision_log is not None:
        with DecisionLog(decision_log, log_identifiers=log_identifiers) as log:
            log.record(plan, parsed, "cli")
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
        with open(response, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([FieldProblem("", f"cannot read file: {exc}")], response) from None
    except json.JSONDecodeError as exc:
        where = f"{response}:{exc.lineno}:{exc.colno}"
        raise InputError([FieldProblem("", f"invalid JSON: {exc.msg}")], where) from None
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
