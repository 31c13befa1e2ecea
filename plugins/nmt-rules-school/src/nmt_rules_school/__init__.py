"""School setting plugin for nmt-rules: ships the school catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from nmt_rules import DataFile, hookimpl


@hookimpl
def nmt_rules_catalogues() -> Iterable[DataFile]:
    """The school catalogue shipped in this package."""
    return [resources.files(__name__) / "catalogue.yaml"]
