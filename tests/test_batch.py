"""Batch planning: every record gets a line in input order, bad ones are reported and the
rest go on, the input is never overwritten, and an interrupted run can be resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from nmt_rules import Planner
from nmt_rules.batch import Output, Source, run
from nmt_rules.cli import main
from nmt_rules.decision_log import read_decisions

from .conftest import make_map
from .plugin_kit import source, ward_csv_format, with_installed

ROOT = Path(__file__).resolve().parent.parent


def _jsonl(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _batch(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["batch", *map(str, args)], input=input)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]


def _many(count: int) -> list[str]:
    """Maps of every kind, one in seven invalid."""
    return [
        json.dumps(
            make_map(
                age=3 + n % 40,
                sensory=(n * 7) % 100,
                regulation=(n * 13) % 100,
                cognitive=300 if n % 7 == 3 else (n * 5) % 100,
                flags=["self_harm"] if n % 5 == 0 else [],
            )
        )
        for n in range(count)
    ]


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
    result = _batch(source, "--out", out, "--setting", "school")
    assert result.exit_code == 1
    assert f"{source}:2: domains.cognitive: 300 is above 100" in result.stderr
    assert f"{source}:3:2: invalid JSON: Expecting property name" in result.stderr
    assert "2 of 4 records failed" in result.stderr
    lines = _lines(out)
    assert [str(line["source"]).rsplit(":", 1)[1] for line in lines] == ["1", "2", "3", "5"]
    assert lines[0]["plan"]["setting"] == "school"  # type: ignore[index]
    assert lines[3]["plan"]["items"][0]["indicator"] == "critical"  # type: ignore[index]
    assert lines[2]["errors"] == [
        {
            "path": "",
            "message": "invalid JSON: Expecting property name enclosed in double quotes",
            "line": 3,
            "col": 2,
        }
    ]


def test_a_folder_of_maps_is_planned(tmp_path: Path) -> None:
    for name, sensory in (("a.yaml", 20), ("b.yaml", 60)):
        (tmp_path / name).write_text(yaml.safe_dump(make_map(sensory=sensory)))
    (tmp_path / "notes.txt").write_text("ignored")
    out = tmp_path / "plans.jsonl"
    result = _batch(tmp_path, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert [line["source"] for line in _lines(out)] == [
        str(tmp_path / "a.yaml"),
        str(tmp_path / "b.yaml"),
    ]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_single_map_file_is_one_record(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"map{suffix}"
    path.write_text(json.dumps(make_map(flags=["self_harm"])))  # JSON is YAML too
    out = tmp_path / "plans.jsonl"
    assert _batch(path, "--out", out).exit_code == 0
    (line,) = _lines(out)
    assert line["source"] == str(path)


def test_a_failed_run_leaves_the_previous_output_whole(tmp_path: Path) -> None:
    out = tmp_path / "plans.jsonl"
    out.write_text("previous results\n")
    source = _jsonl(tmp_path / "maps.jsonl", [json.dumps(make_map())])
    result = _batch(source, "--out", out, "--setting", "moon")
    assert result.exit_code == 2
    assert out.read_text() == "previous results\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.jsonl", "plans.jsonl"]


def test_the_input_is_never_the_output(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "maps.jsonl", [json.dumps(make_map())])
    before = source.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(source)
    os.link(source, tmp_path / "hard.jsonl")
    for out in (source, tmp_path / "link.jsonl", tmp_path / "hard.jsonl"):
        result = _batch(source, "--out", out)
        assert result.exit_code == 2, out
        assert f"{out} is the input {source}: refusing to overwrite it" in result.stderr
    result = _batch(tmp_path, "--out", tmp_path / "m.yaml")  # not yet there: fine
    assert result.exit_code == 0
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(make_map()))
    assert _batch(tmp_path, "--out", tmp_path / "m.yaml").exit_code == 2
    assert source.read_bytes() == before


def test_standard_input_redirected_from_the_output_is_refused(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "maps.jsonl", [json.dumps(make_map())])
    with source.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "nmt_rules.cli", "batch", "-", "--out", str(source)],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 2
    assert "is the input <stdin>: refusing to overwrite it" in done.stderr


def test_poison_records_become_error_lines_and_the_run_goes_on(tmp_path: Path) -> None:
    good = json.dumps(make_map(flags=["self_harm"]))
    poison = [
        "null",
        "[1, 2]",
        good.replace('"age_years": 9', '"age_years": ' + "9" * 5000),
        "[" * 10_000 + "]" * 10_000,
        good.replace('"t-001"', '"\\ud800"'),
        good.replace('"age_years": 9', '"age_years": NaN'),
        good.replace('"age_years": 9', '"age_years": 3, "age_years": 30'),
        good.replace('"age_years": 9', '"age_years": 1e-7'),
    ]
    source = _jsonl(tmp_path / "maps.jsonl", [good, *poison, good])
    out = tmp_path / "plans.jsonl"
    result = _batch(source, "--out", out, "-j", "1")
    assert result.exit_code == 1, result.stderr
    assert "Traceback" not in result.output
    lines = _lines(out)
    assert len(lines) == len(poison) + 2
    assert ["plan" in line for line in lines] == [True] + [False] * 7 + [True, True]
    messages = [str(line.get("errors")) for line in lines]
    assert "a record must be a JSON object" in messages[1]
    assert "a number of 5000 characters is too long" in messages[3]
    assert "nested more than 64 levels deep" in messages[4]
    assert "subject.id: text that is not valid Unicode" in result.stderr
    assert "NaN is not a number JSON allows" in messages[6]
    assert "duplicate key 'age_years'" in messages[7]


def test_poison_map_files_in_a_folder_become_error_lines(tmp_path: Path) -> None:
    good = yaml.safe_dump(make_map())
    (tmp_path / "a.yaml").write_text(good)
    (tmp_path / "b.yaml").write_text("a: &a [*a]\n")
    (tmp_path / "c.yaml").write_text(good.replace("2026-10-01", "2026-02-30"))
    (tmp_path / "d.yaml").write_text(good.replace("age_years: 9", "age_years: 1:30"))
    (tmp_path / "e.yaml").write_text(good)
    out = tmp_path / "plans.jsonl"
    result = _batch(tmp_path, "--out", out)
    assert result.exit_code == 1
    assert ["plan" in line for line in _lines(out)] == [True, False, False, False, True]
    assert f"{tmp_path / 'b.yaml'}:1:4: a recursive alias" in result.stderr
    assert "'2026-02-30' is not a date" in result.stderr
    assert "(YAML 1.1 reads it as the number 90)" in result.stderr


def test_line_separators_inside_strings_do_not_split_records(tmp_path: Path) -> None:
    odd = json.dumps(make_map(), ensure_ascii=False).replace("t-001", "t\u2028\u2029\x85-001")
    source = _jsonl(tmp_path / "maps.jsonl", [odd, json.dumps(make_map(cognitive=300))])
    out = tmp_path / "plans.jsonl"
    result = _batch(source, "--out", out)
    assert [line["source"] for line in _lines(out)] == [f"{source}:1", f"{source}:2"]
    assert f"{source}:2: domains.cognitive" in result.stderr
    # Escaped in the output, so even readers that split on U+2028 see two lines.
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
    assert _lines(out)[0]["plan"]["subject_id"] == "t\u2028\u2029\x85-001"  # type: ignore[index]


def test_a_linked_output_stays_a_link_to_the_new_plans(tmp_path: Path) -> None:
    target = tmp_path / "real" / "plans.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "plans.jsonl"
    link.symlink_to(target)
    source = _jsonl(tmp_path / "maps.jsonl", [json.dumps(make_map())])
    assert _batch(source, "--out", link).exit_code == 0
    assert link.is_symlink()
    assert len(_lines(target)) == 1
    assert sorted(p.name for p in target.parent.iterdir()) == ["plans.jsonl"]


@pytest.mark.parametrize("folder", ["missing/plans.jsonl", "file.txt/plans.jsonl"])
def test_an_output_folder_that_cannot_be_written_is_exit_2(tmp_path: Path, folder: str) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    source = _jsonl(tmp_path / "maps.jsonl", [json.dumps(make_map())])
    result = _batch(source, "--out", tmp_path / folder)
    assert result.exit_code == 2
    assert f"error: cannot write {tmp_path / folder}: " in result.stderr
    assert "Traceback" not in result.output


def test_standard_input_to_standard_output(tmp_path: Path) -> None:
    lines = [json.dumps(make_map(sensory=20)), json.dumps(make_map(cognitive=300))]
    result = _batch("-", "--out", "-", "--setting", "school", input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]  # only plans on stdout
    assert [line["source"] for line in out] == ["<stdin>:1", "<stdin>:2"]
    assert "<stdin>:2: domains.cognitive: 300 is above 100" in result.stderr


def test_a_ruleset_option_plans_with_that_ruleset(tmp_path: Path) -> None:
    core = (ROOT / "rulesets" / "core.yaml").read_text(encoding="utf-8")
    ruleset = tmp_path / "mine.yaml"
    ruleset.write_text(core.replace("ruleset: nmt-core", "ruleset: mine", 1))
    source = _jsonl(tmp_path / "maps.jsonl", [json.dumps(make_map())])
    out = tmp_path / "plans.jsonl"
    assert _batch(source, "--out", out, "--ruleset", ruleset).exit_code == 0
    (line,) = _lines(out)
    rulesets = line["plan"]["provenance"]["rulesets"]  # type: ignore[index]
    assert [r["name"] for r in rulesets] == ["mine"]


def test_any_number_of_jobs_writes_the_same_bytes(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "maps.jsonl", _many(70))
    outputs = []
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"plans-{jobs}.jsonl"
        result = _batch(source, "--out", out, "-j", jobs)
        assert result.exit_code == 1
        assert "10 of 70 records failed" in result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]


def test_workers_start_afresh_when_forking_is_not_safe(tmp_path: Path) -> None:
    # With another thread alive (a host embedding nmt-rules), workers are spawned, not
    # forked, and build their planners from the ruleset files: the same bytes come out.
    source = _jsonl(tmp_path / "maps.jsonl", _many(40))
    _batch(source, "--out", tmp_path / "forked.jsonl", "-j", "2")
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert threading.active_count() > 1
        result = _batch(source, "--out", tmp_path / "spawned.jsonl", "-j", "2")
    finally:
        release.set()
        other.join()
    assert result.exit_code == 1
    spawned = (tmp_path / "spawned.jsonl").read_bytes()
    assert spawned == (tmp_path / "forked.jsonl").read_bytes()


def test_resume_continues_after_the_kept_plans(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "maps.jsonl", _many(40))
    whole = tmp_path / "whole.jsonl"
    _batch(source, "--out", whole, "-j", "1")
    out = tmp_path / "plans.jsonl"
    partial = tmp_path / "plans.jsonl.partial"
    kept = whole.read_bytes().splitlines(keepends=True)
    partial.write_bytes(b"".join(kept[:25]) + kept[25][:300])  # a kill cut line 26 short
    result = _batch(source, "--out", out)
    assert result.exit_code == 2
    assert "add --resume to continue it" in result.stderr
    result = _batch(source, "--out", out, "--resume", "-j", "2")
    assert result.exit_code == 1
    assert "6 of 40 records failed (25 kept from the interrupted run)" in result.stderr
    assert out.read_bytes() == whole.read_bytes()
    assert not partial.exists()


def test_resume_refuses_a_partial_output_of_another_input(tmp_path: Path) -> None:
    source = _jsonl(tmp_path / "maps.jsonl", _many(10))
    other = _jsonl(tmp_path / "other.jsonl", _many(10))
    _batch(other, "--out", tmp_path / "other-plans.jsonl")
    partial = tmp_path / "plans.jsonl.partial"
    partial.write_bytes((tmp_path / "other-plans.jsonl").read_bytes())
    result = _batch(source, "--out", tmp_path / "plans.jsonl", "--resume")
    assert result.exit_code == 2
    assert f"its last plan is for {other}:10 but record 10 is {source}:10" in result.stderr
    assert partial.exists()


def test_resume_needs_an_output_file() -> None:
    result = _batch("-", "--out", "-", "--resume", input="")
    assert result.exit_code == 2
    assert "--resume needs an output file" in result.stderr


def _start(source: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "nmt_rules.cli", "batch", str(source), "--out", str(out)]
    return subprocess.Popen(
        [*command, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_lines(partial: Path, process: subprocess.Popen[str]) -> None:
    """Until the run has written some plans (it is then mid-way: 1,500 maps take seconds)."""
    while process.poll() is None:
        if partial.exists() and partial.stat().st_size > 50_000:
            return
        time.sleep(0.02)
    raise AssertionError(f"the run ended first: {process.communicate()}")


@pytest.fixture(scope="module")
def planned_whole(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A JSON Lines input long enough to interrupt, and its output from one straight run."""
    folder = tmp_path_factory.mktemp("whole")
    source = _jsonl(folder / "maps.jsonl", _many(1500))
    straight = _start(source, folder / "whole.jsonl", "-j", "1")
    straight.communicate(timeout=120)
    assert straight.returncode == 1
    return source, (folder / "whole.jsonl").read_bytes()


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_run_leaves_a_partial_output_that_resume_finishes(
    tmp_path: Path, planned_whole: tuple[Path, bytes], kill: signal.Signals
) -> None:
    source = tmp_path / "maps.jsonl"
    source.write_bytes(planned_whole[0].read_bytes())
    out = tmp_path / "plans.jsonl"
    partial = tmp_path / "plans.jsonl.partial"
    process = _start(source, out, "-j", "2")
    _wait_for_lines(partial, process)
    process.send_signal(kill)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == (128 + kill if kill != signal.SIGKILL else -kill), stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.jsonl", "plans.jsonl.partial"]
    if kill != signal.SIGKILL:
        assert "run again with --resume to finish" in stderr
        assert partial.read_bytes().endswith(b"\n")  # whole lines only
    resumed = _start(source, out, "--resume")
    _, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 1, stderr
    assert "kept from the interrupted run" in stderr
    assert out.read_bytes() == planned_whole[1].replace(
        str(planned_whole[0]).encode(), str(source).encode()
    )


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_plan_given_is_in_the_decision_log(tmp_path: Path, jobs: str) -> None:
    source = _jsonl(tmp_path / "maps.jsonl", [*_many(70), "null"])
    log = tmp_path / "decisions.sqlite"
    result = _batch(source, "-o", tmp_path / "plans.jsonl", "-j", jobs, "--decision-log", log)
    assert result.exit_code == 1  # the invalid records failed; the others were planned
    planned = [line["plan"] for line in _lines(tmp_path / "plans.jsonl") if "plan" in line]
    decisions = list(read_decisions(log))
    assert len(decisions) == len(planned) == 60
    assert {d["plan_id"] for d in decisions} == {p["plan_id"] for p in planned}  # type: ignore[index]
    assert {d["interface"] for d in decisions} == {"batch"}
    assert all(d["subject_id"] is None for d in decisions)  # no identifiers unless asked


def test_a_plugin_input_format_feeds_batch(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("patient,age,sensory\nw-1,9,25\nw-2,15,140\nw-3,40,60\n")
    planner = Planner.default(with_installed(source("ward", ward_csv_format())))
    records = Source.read_with(str(export), planner, "ward-csv")
    output = Output.open(str(tmp_path / "plans.jsonl"), records, resume=False)
    summary = run(records, output, planner, (), "school", jobs=1)
    lines = _lines(tmp_path / "plans.jsonl")
    assert [line["source"] for line in lines] == [f"{export}:{n}" for n in (2, 3, 4)]
    assert "plan" in lines[0] and "errors" in lines[1] and summary.failed == 1
