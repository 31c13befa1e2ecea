"""Foster care and child welfare setting plugin for nmt-rules: ships the foster-care catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from nmt_rules import DataFile, hookimpl


@hookimpl
def nmt_rules_catalogues() -> Iterable[DataFile]:
    """The foster-care catalogue shipped in this package."""
    return [resources.files(__name__) / "catalogue.yaml"]
