"""Batch planning: every good record gets a plan, bad ones are reported, output is atomic."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from nmt_rules.cli import main

from .conftest import make_map


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_records_are_reported_and_the_rest_planned(tmp_path: Path) -> None:
    source = _jsonl(
        tmp_path / "maps.jsonl",
        [
            json.dumps(make_map(sensory=20)),
            json.dumps(make_map(cognitive=300)),
            "{not json",
            "",
            json.dumps(make_map(regulation=20, flags=["aggression"])),
        ],
    )
    out = tmp_path / "plans.jsonl"
    result = CliRunner().invoke(
        main, ["batch", str(source), "--out", str(out), "--setting", "school"]
    )
    assert result.exit_code == 1
    assert f"{source}:2: domains.cognitive: 300 is above 100" in result.stderr
    assert f"{source}:3: invalid JSON" in result.stderr
    assert "2 of 4 records failed" in result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["source"].rsplit(":", 1)[1] for line in lines] == ["1", "2", "3", "5"]
    assert lines[0]["plan"]["setting"] == "school"
    assert lines[3]["plan"]["items"][0]["indicator"] == "critical"
    assert "errors" in lines[1] and "errors" in lines[2]


def test_a_folder_of_maps_is_planned(tmp_path: Path) -> None:
    for name, sensory in (("a.yaml", 20), ("b.yaml", 60)):
        (tmp_path / name).write_text(yaml.safe_dump(make_map(sensory=sensory)))
    (tmp_path / "notes.txt").write_text("ignored")
    out = tmp_path / "plans.jsonl"
    result = CliRunner().invoke(main, ["batch", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert len(out.read_text().splitlines()) == 2


def test_a_failed_run_leaves_the_previous_output_whole(tmp_path: Path) -> None:
    out = tmp_path / "plans.jsonl"
    out.write_text("previous results\n")
    source = _jsonl(tmp_path / "maps.jsonl", [json.dumps(make_map())])
    result = CliRunner().invoke(
        main, ["batch", str(source), "--out", str(out), "--setting", "moon"]
    )
    assert result.exit_code == 2
    assert out.read_text() == "previous results\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plans")] == []
