"""The benchmark's own machinery: every contender it times must give the reference's firings.

No timing here: this guards the claim `make bench` rests on (zero lost firings), so a broken
floor driver or end-to-end reader fails in `make test`, not only in a full benchmark run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench"


@pytest.mark.parametrize("size", ["core", "200"])
def test_every_contender_fires_what_the_reference_fires(
    size: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    import contenders
    from maps import brain_maps

    from nmt_rules.brainmap import parse_brain_map
    from nmt_rules.plugins import load_plugins

    planner = contenders.planner_for(size, load_plugins())
    inputs = contenders.prepare(planner, [parse_brain_map(d) for d in brain_maps(60)])
    assert sum(len(i.expected) for i in inputs) > 60  # the maps make rules fire
    timed = [
        contenders.end_to_end(planner),
        contenders.engine_core(planner),
        contenders.durable_core(planner.internals.program),
    ]
    try:
        for contender in timed:
            for item in inputs:
                got = contender.fired(contender.run(item))
                assert got == contender.expected(item), contender.name
    finally:
        for contender in timed:
            if contender.closer:
                contender.closer()
