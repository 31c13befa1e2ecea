"""nmt-rules: decision support for neurosequential, brain-based trauma care.

Brain map in; sequenced, explained plan out. Not a diagnostic tool; not affiliated with
the Neurosequential Network. Decision support for trained professionals.
"""

from __future__ import annotations

import sys

if not (3, 11) <= sys.version_info[:2] < (3, 13):  # pragma: no cover - checked at install
    raise ImportError(
        "nmt-rules needs Python 3.11 or 3.12: durable-rules 2.0.28 does not import on 3.13+"
    )

from .api import Planner, recommend, version
from .brainmap import brain_map_schema, load_brain_map, parse_brain_map
from .catalogue import Catalogue, CatalogueItem, load_catalogue, parse_catalogue
from .decision_log import DecisionLog
from .errors import (
    AuthError,
    CatalogueError,
    Diagnostic,
    EngineError,
    FieldProblem,
    InputError,
    NmtRulesError,
    PluginError,
    PrefetchMissingError,
    ReportError,
    RulesetError,
    UnknownSettingError,
)
from .hookspecs import DataFile, hookimpl
from .model import BrainMap, Delivery, Plan, PlanItem, Provenance, Reason
from .report import plan_to_dict, plan_to_html, plan_to_json, plan_to_text, render
from .ruleset import Need, Rule, Ruleset, core_ruleset, load_ruleset, parse_ruleset

__version__ = version()

__all__ = [
    "AuthError",
    "BrainMap",
    "Catalogue",
    "CatalogueError",
    "CatalogueItem",
    "DataFile",
    "DecisionLog",
    "Delivery",
    "Diagnostic",
    "EngineError",
    "FieldProblem",
    "InputError",
    "Need",
    "NmtRulesError",
    "Plan",
    "PlanItem",
    "Planner",
    "PluginError",
    "PrefetchMissingError",
    "Provenance",
    "Reason",
    "ReportError",
    "Rule",
    "Ruleset",
    "RulesetError",
    "UnknownSettingError",
    "__version__",
    "brain_map_schema",
    "core_ruleset",
    "hookimpl",
    "load_brain_map",
    "load_catalogue",
    "load_ruleset",
    "parse_brain_map",
    "parse_catalogue",
    "parse_ruleset",
    "plan_to_dict",
    "plan_to_html",
    "plan_to_json",
    "plan_to_text",
    "recommend",
    "render",
    "version",
]
