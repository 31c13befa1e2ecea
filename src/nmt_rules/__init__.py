"""nmt-rules: decision support for neurosequential, brain-based trauma care.

Brain map in; sequenced, explained plan out. Not a diagnostic tool; not affiliated with
the Neurosequential Network. Decision support for trained professionals.

Only the names in ``__all__`` are the stable, public API (typed: the package ships
``py.typed``). Everything else, including the modules themselves and
``Planner.internals``, may change in any release.
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
from .compile import Evaluation
from .decision_log import DecisionLog
from .errors import (
    AuthError,
    BatchError,
    CatalogueError,
    Diagnostic,
    EngineError,
    FieldProblem,
    InputError,
    Location,
    NmtRulesError,
    PluginError,
    PrefetchMissingError,
    ReportError,
    RulesetError,
    UnknownSettingError,
    ValidationError,
)
from .hookspecs import DataFile, DataFiles, InputFormat, hookimpl
from .model import BrainMap, Caution, Delivery, Plan, PlanItem, Provenance, Reason, RulesetRef
from .plugin_calls import InputRecord, PluginFailure
from .plugins import PluginInfo, PluginSet
from .report import plan_to_dict, plan_to_html, plan_to_json, plan_to_text, render
from .rules import Need, Rule, Ruleset
from .ruleset import core_ruleset, load_ruleset, parse_ruleset

__version__ = version()

__all__ = [
    "AuthError",
    "BatchError",
    "BrainMap",
    "Catalogue",
    "CatalogueError",
    "CatalogueItem",
    "Caution",
    "DataFile",
    "DataFiles",
    "DecisionLog",
    "Delivery",
    "Diagnostic",
    "EngineError",
    "Evaluation",
    "FieldProblem",
    "InputError",
    "InputFormat",
    "InputRecord",
    "Location",
    "Need",
    "NmtRulesError",
    "Plan",
    "PlanItem",
    "Planner",
    "PluginError",
    "PluginFailure",
    "PluginInfo",
    "PluginSet",
    "PrefetchMissingError",
    "Provenance",
    "Reason",
    "ReportError",
    "Rule",
    "Ruleset",
    "RulesetError",
    "RulesetRef",
    "UnknownSettingError",
    "ValidationError",
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
