"""Hook specifications for setting plugins.

A plugin is a Python distribution with an entry point in the ``nmt_rules`` group whose
module implements some of these hooks with ``@nmt_rules.hookimpl``. Hooks return data
files (YAML), never code to run inside the engine: a plugin says how its setting delivers
what the core ruleset finds the brain needs, and may add rules of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources.abc import Traversable
from pathlib import Path

import pluggy

hookspec = pluggy.HookspecMarker("nmt_rules")
hookimpl = pluggy.HookimplMarker("nmt_rules")

#: A YAML file a plugin ships: a filesystem path or an ``importlib.resources`` file.
DataFile = Path | Traversable


@hookspec
def nmt_rules_catalogues() -> Iterable[DataFile]:
    """Return the catalogue files this plugin ships, one per setting it serves.

    Each file is validated like a ruleset (see ``nmt-rules check``); a catalogue that fails
    validation disables this plugin's settings, not the others'. Ship catalogues inside the
    package and return them with ``importlib.resources.files(__package__) / "catalogue.yaml"``.
    """
    raise NotImplementedError


@hookspec
def nmt_rules_rulesets() -> Iterable[DataFile]:
    """Return extra ruleset files to evaluate after the core ruleset.

    Extra rulesets may raise the core ruleset's needs or declare their own; they may not set
    bands (the core ruleset's cut-points apply to every rule). Rules that concern only this
    plugin's setting should test ``setting``.
    """
    raise NotImplementedError
