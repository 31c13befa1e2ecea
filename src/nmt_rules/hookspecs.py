"""Hook specifications for plugins: every hook a plugin may implement, typed and documented.

A plugin is a Python distribution with an entry point in the ``nmt_rules`` group whose
module implements some of these hooks with ``@nmt_rules.hookimpl``. Two kinds of hook:

- **data hooks** return YAML files (catalogues, rulesets). They are called once, when
  plugins load, and what they return is validated then: a plugin whose files are invalid or
  clash with the core ruleset or another plugin is disabled and reported by name.
- **edge hooks** run code at the edges of a plan, never inside the engine: reading an
  agency's own export into brain maps (before), annotating a finished plan (after), and
  receiving decision records (after). Each call is guarded: a hook that raises, returns the
  wrong type or breaks a plan's safety guarantees disables that plugin's edge hooks for the
  rest of the process and is reported by name; plans go on.

docs/plugins.md describes each hook with the return values it accepts, and a test checks
that every hook here is described there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import attrs
import pluggy

from .model import Plan

hookspec = pluggy.HookspecMarker("nmt_rules")
hookimpl = pluggy.HookimplMarker("nmt_rules")

#: A YAML file a plugin ships: a filesystem path or an ``importlib.resources`` file. A
#: ``str`` is taken as a path; a relative one is relative to the plugin's package folder.
DataFile = Path | Traversable | str
#: What a data hook returns: one file or several.
DataFiles = DataFile | Iterable[DataFile]


@attrs.frozen
class InputFormat:
    """An agency's own assessment export, read into brain maps (``--from NAME``).

    ``read`` gets the file's bytes and yields ``(where, brain_map)`` pairs: ``where`` is a
    short label of the record inside the file (a line number, a case number) that error
    messages show as ``file:where``; ``brain_map`` is plain data in the brain-map format
    (docs/formats.md), validated by nmt-rules afterwards, so a bad value in one record is
    reported by field path and the other records go on.
    """

    name: str  # lower-case words joined by '-', unique across plugins
    description: str
    read: Callable[[bytes], Iterable[tuple[str, Mapping[str, Any]]]]


@hookspec
def nmt_rules_catalogues() -> DataFiles:
    """Return the catalogue files this plugin ships, one per setting it serves.

    Accepted: a path (``pathlib.Path``, ``str`` or ``importlib.resources`` file) or a list
    of them; return ``[]`` for none. Each file is validated like ``nmt-rules check`` does;
    an invalid catalogue, or a setting another plugin also serves, disables this plugin
    (named in ``nmt-rules plugins``), never the others. Ship catalogues inside the package:
    ``importlib.resources.files(__name__) / "catalogue.yaml"``.
    """
    raise NotImplementedError


@hookspec
def nmt_rules_rulesets() -> DataFiles:
    """Return extra ruleset files, evaluated after the core ruleset.

    Accepted as for :func:`nmt_rules_catalogues`. Extra rulesets may raise the core
    ruleset's needs, test them (``needs.<need-id>``) and declare needs of their own; they
    may not set bands, re-declare a core need or share a name with another ruleset. Their
    rules run only in this plugin's own settings unless the ruleset says ``applies_to:
    every-setting`` (or lists the settings it applies to).
    """
    raise NotImplementedError


@hookspec
def nmt_rules_input_formats() -> Iterable[InputFormat]:
    """Return the input formats this plugin reads (an agency's CSV or case-system JSON).

    Accepted: one :class:`InputFormat` or a list of them. ``nmt-rules recommend FILE --from
    NAME`` reads FILE with the format called NAME. Names are unique across plugins.
    """
    raise NotImplementedError


@hookspec
def nmt_rules_annotate_plan(plan: Plan) -> Plan | None:
    """Return the plan with cautions added (to items or to the whole plan), or None.

    Annotators may only add: ``attrs.evolve`` an item with more ``cautions``, or the plan
    with more ``cautions``. The returned plan is compared with the one given; removing,
    reordering or changing anything (a safety item above all) disables this plugin's edge
    hooks for the rest of the process, and the plan goes out without its annotations.
    """
    raise NotImplementedError


@hookspec
def nmt_rules_decision(record: Mapping[str, Any]) -> None:
    """Receive one decision record (JSON-ready data) when the host enables decision logging.

    Called once per logged decision, after the plan is made; the return value is ignored. A
    sink that raises is disabled for the rest of the process and reported; the plan and the
    other sinks are unaffected.
    """
    raise NotImplementedError
