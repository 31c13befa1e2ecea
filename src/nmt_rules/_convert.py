"""The cattrs converter shared by input parsing and output rendering."""

from __future__ import annotations

import datetime as dt

import cattrs

converter = cattrs.Converter(forbid_extra_keys=True)
converter.register_structure_hook(dt.date, lambda value, _: dt.date.fromisoformat(value))
converter.register_unstructure_hook(dt.date, lambda value: value.isoformat())
