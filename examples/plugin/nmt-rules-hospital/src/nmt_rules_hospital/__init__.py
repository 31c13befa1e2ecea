"""Example nmt-rules plugin: how a children's hospital ward delivers the core needs."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from nmt_rules import DataFile, hookimpl


@hookimpl
def nmt_rules_catalogues() -> Iterable[DataFile]:
    """The ward's catalogue: one file per setting this plugin serves."""
    return [resources.files(__name__) / "catalogue.yaml"]


@hookimpl
def nmt_rules_rulesets() -> Iterable[DataFile]:
    """An extra rule for ward life; it tests `setting` so it only speaks for the ward."""
    return [resources.files(__name__) / "rules.yaml"]
