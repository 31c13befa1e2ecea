"""Example nmt-rules plugin: how a children's hospital ward delivers the core needs.

It shows three hooks: a catalogue (how the ward delivers needs), an extra ruleset (a rule
for ward life), and an input format that reads the ward's CSV export into brain maps.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any

from nmt_rules import DataFiles, InputFormat, hookimpl

DOMAINS = ("sensory_integration", "self_regulation", "relational", "cognitive")


@hookimpl
def nmt_rules_catalogues() -> DataFiles:
    """The ward's catalogue: one file per setting this plugin serves."""
    return resources.files(__name__) / "catalogue.yaml"


@hookimpl
def nmt_rules_rulesets() -> DataFiles:
    """An extra rule for ward life; it runs only in the plugin's own setting, the ward."""
    return [resources.files(__name__) / "rules.yaml"]


@hookimpl
def nmt_rules_input_formats() -> Iterable[InputFormat]:
    """The ward's CSV export: `nmt-rules recommend export.csv --from hospital-csv`."""
    return [
        InputFormat(
            name="hospital-csv",
            description="The ward's CSV export: patient, age, assessed, the four domain "
            "scores, and flags separated by ';'.",
            read=read_ward_csv,
        )
    ]


def read_ward_csv(data: bytes) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """One brain map per row, labelled with its line number. Values are passed on as
    written when they are not numbers, so nmt-rules reports them by field."""
    rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    for line, row in enumerate(rows, start=2):
        yield (
            str(line),
            {
                "subject": {"id": row.get("patient"), "age_years": _number(row.get("age"))},
                "assessed_on": row.get("assessed"),
                "setting": "hospital",
                "domains": {domain: _number(row.get(domain)) for domain in DOMAINS},
                "flags": [f.strip() for f in (row.get("flags") or "").split(";") if f.strip()],
            },
        )


def _number(text: str | None) -> int | float | str | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
