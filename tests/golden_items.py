"""Golden YAML cases as pytest items: `pytest tests/golden` runs each case by name, and a
failure reads as `nmt-rules test` prints it (expected, got, and the plan in order)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from nmt_rules import Planner
from nmt_rules.errors import Diagnostic
from nmt_rules.golden import CaseResult, GoldenCase, format_failure, load_cases, run_case

GOLDEN: Final = Path(__file__).resolve().parent / "golden"


@functools.cache
def golden_planner() -> Planner:
    """The default planner, built once for every case file."""
    return Planner.default()


class CaseFailedError(Exception):
    """A case whose plan differs from what it expects."""

    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.case.name)
        self.result = result


class CaseFileError(Exception):
    """A case file that does not load (its diagnostics, file:line:col)."""

    def __init__(self, problems: list[Diagnostic]) -> None:
        super().__init__("\n".join(str(p) for p in problems))


class GoldenFile(pytest.File):
    """One case file: an item per case, or one failing item naming its problems."""

    def collect(self) -> Iterator[pytest.Item]:
        cases, problems = load_cases([self.path], golden_planner())
        if problems:
            yield CaseFileProblems.from_parent(self, name="loads", problems=problems)
        for case in cases:
            yield GoldenItem.from_parent(self, name=case.name, case=case)


class GoldenItem(pytest.Item):
    """One golden case."""

    def __init__(self, *, case: GoldenCase, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        result = run_case(golden_planner(), self.case)
        if not result.passed:
            raise CaseFailedError(result)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, CaseFailedError):
            return format_failure(excinfo.value.result)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"golden case: {self.case.name}"


class CaseFileProblems(pytest.Item):
    """A case file that does not load fails with every problem at its place."""

    def __init__(self, *, problems: list[Diagnostic], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = problems

    def runtest(self) -> None:
        raise CaseFileError(self.problems)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"golden case file: {self.path.name}"


def collect_golden(parent: pytest.Collector, file_path: Path) -> GoldenFile | None:
    """A collector for YAML files under tests/golden."""
    if file_path.suffix in (".yaml", ".yml") and GOLDEN in file_path.parents:
        found: GoldenFile = GoldenFile.from_parent(parent, path=file_path)
        return found
    return None
