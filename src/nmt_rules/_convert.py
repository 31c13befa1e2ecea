"""The cattrs converter shared by input parsing and output rendering."""

from __future__ import annotations

import datetime as dt

import cattrs

from ._yaml import DECIMAL_PLACES

converter = cattrs.Converter(forbid_extra_keys=True)
converter.register_structure_hook(dt.date, lambda value, _: dt.date.fromisoformat(value))
converter.register_unstructure_hook(dt.date, lambda value: value.isoformat())

#: For data a JSON Schema has already validated: cattrs' per-field error collection would
#: only cost time there (it is a quarter of structuring a brain map).
_trusted = cattrs.Converter(detailed_validation=False)
_trusted.register_structure_hook(dt.date, lambda value, _: dt.date.fromisoformat(value))
# Fractions keep DECIMAL_PLACES places: durable-rules refuses the exponent form smaller ones
# are written in (an age of 1e-07). Adding 0.0 turns -0.0 into 0.0.
_trusted.register_structure_hook(float, lambda value, _: round(float(value), DECIMAL_PLACES) + 0.0)
fast_structure = _trusted.structure
