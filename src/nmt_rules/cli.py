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
from .brainmap import load_brain_map, parse_brain_map
from .check import check_paths, files_to_check
from .diff import diff_plans, diff_to_dict, diff_to_text, records_of
from .errors import Diagnostic, EngineError, FieldProblem, InputError, NmtRulesError
from .explain import explain, find_rule, trace_to_json, trace_to_text, why_not, why_not_to_text
from .fmt import format_file
from .golden import coverage, format_failure, load_cases, run_case
from .model import BrainMap
from .plugins import ENTRY_POINT_GROUP, PLUGINS_ENV, load_plugins
from .report import plan_to_html, plan_to_json, plan_to_text
from .ruleset import core_ruleset, load_ruleset
from .scaffold import plugin_spec, write_plugin
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
@_RULESET_OPTION
@click.option(
    "--from",
    "input_format",
    metavar="NAME",
    help="Read BRAIN_MAP with a plugin's input format (an agency's own export; "
    "`nmt-rules plugins` lists them).",
)
@_reports_errors
def recommend(
    brain_map: str,
    setting: str | None,
    fmt: str,
    rulesets: tuple[str, ...],
    input_format: str | None,
) -> None:
    """Print the sequenced, explained plan for BRAIN_MAP (YAML or JSON, or --from NAME)."""
    planner = _planner_with(rulesets)
    if input_format is None:
        parsed = load_brain_map(brain_map)
    else:
        parsed = _read_one(planner, input_format, brain_map)
    plan = planner.plan(parsed, setting)
    render = {"json": plan_to_json, "html": plan_to_html, "text": plan_to_text}[fmt]
    click.echo(render(plan), nl=fmt == "json")
    _warn_plugin_failures(planner)


def _read_one(planner: Planner, input_format: str, path: str) -> BrainMap:
    """The one brain map a file holds, read with a plugin's input format."""
    records = planner.read_input(input_format, path)
    if len(records) != 1:
        problem = (
            f"input format {input_format!r} read {len(records)} brain maps from the file; "
            "recommend plans one (batch plans many)"
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
    planner = _planner_with(rulesets)
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
    new_planner, base_planner = _planner_with(rulesets), _planner_with(base)
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
    planner = _planner_with(rulesets)
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


if __name__ == "__main__":  # python -m nmt_rules.cli
    main()
