"""The cattrs converter shared by input parsing and output rendering."""

from __future__ import annotations

import datetime as dt

import cattrs

converter = cattrs.Converter(forbid_extra_keys=True)
converter.register_structure_hook(dt.date, lambda value, _: dt.date.fromisoformat(value))
converter.register_unstructure_hook(dt.date, lambda value: value.isoformat())

#: For data a JSON Schema has already validated: cattrs' per-field error collection would
#: only cost time there (it is a quarter of structuring a brain map).
_trusted = cattrs.Converter(detailed_validation=False)
_trusted.register_structure_hook(dt.date, lambda value, _: dt.date.fromisoformat(value))
fast_structure = _trusted.structure
