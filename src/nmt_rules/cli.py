"""The nmt-rules command line. Exit codes: 0 ok, 1 check/test failures, 2 usage or input errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from .api import Planner, default_planner, version
from .brainmap import load_brain_map
from .errors import EngineError, NmtRulesError
from .plugins import ENTRY_POINT_GROUP, PLUGINS_ENV, load_plugins
from .report import plan_to_json, plan_to_text
from .ruleset import load_ruleset

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FAILURES = 1
EXIT_INPUT = 2


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
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--ruleset",
    "rulesets",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Use these ruleset files instead of the core ruleset (repeatable).",
)
@_reports_errors
def recommend(brain_map: str, setting: str | None, fmt: str, rulesets: tuple[str, ...]) -> None:
    """Print the sequenced, explained plan for BRAIN_MAP (YAML or JSON)."""
    parsed = load_brain_map(brain_map)
    planner = default_planner()
    if rulesets:
        base = planner
        planner = Planner(
            [load_ruleset(r) for r in rulesets], base.catalogues.catalogues, base.plugins
        )
    plan = planner.plan(parsed, setting)
    click.echo(plan_to_json(plan) if fmt == "json" else plan_to_text(plan), nl=fmt == "json")


@main.command("plugins")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_reports_errors
def plugins_command(fmt: str) -> None:
    """List setting plugins: version, settings, catalogue sizes, and any that failed."""
    found = load_plugins()
    rows = [
        {
            "name": p.name,
            "version": p.version,
            "settings": list(p.settings),
            "catalogues": [
                {"name": c.name, "version": c.version, "setting": c.setting, "items": len(c.items)}
                for c in p.catalogues
            ],
            "rulesets": [
                {"name": r.name, "version": r.version, "rules": len(r.rules)} for r in p.rulesets
            ],
            "error": p.error,
        }
        for p in found.plugins
    ]
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


if __name__ == "__main__":  # python -m nmt_rules.cli
    main()
