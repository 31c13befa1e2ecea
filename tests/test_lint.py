"""Lint warnings: each check finds what it should and stays quiet on sound rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nmt_rules import lint
from nmt_rules.catalogue import parse_catalogue
from nmt_rules.check import check_paths
from nmt_rules.facts import DEFAULT_BANDS
from nmt_rules.lint import (
    implies,
    lint_ruleset,
    never_fires,
    shadowed_by,
    short_because,
    undelivered_needs,
    unraised_needs,
)
from nmt_rules.plugins import PluginSet, load_plugins
from nmt_rules.rules import Rule, Ruleset
from nmt_rules.ruleset import core_ruleset, parse_ruleset
from nmt_rules.vocabulary import INDICATORS


@pytest.fixture(scope="module")
def planner_plugins() -> PluginSet:
    return load_plugins()


BECAUSE = "Because the person needs this, as a clinician would explain it."


def ruleset(*rules: str, needs: str = "") -> Ruleset:
    """A small cognitive-stage ruleset from rule snippets (`when` lines, then extras)."""
    body = "".join(
        f"    - id: rule-{i}\n{rule}"
        + ("" if "because:" in rule else f"      because: {BECAUSE}\n")
        for i, rule in enumerate(rules)
    )
    text = (
        "ruleset: lint-test\nversion: '1'\nneeds:\n"
        "  help-a: {stage: cognitive, kind: intervention, sequencing: foundation, title: A}\n"
        "  help-b: {stage: cognitive, kind: intervention, sequencing: foundation, title: B}\n"
        f"{needs}stages:\n  cognitive:\n{body}"
    )
    return parse_ruleset(text, "lint.yaml")


def rule(when: str, needs: str = "[help-a]", extra: str = "") -> str:
    return f"      when: {when}\n      needs: {needs}\n{extra}"


def only(rs: Ruleset, index: int = 0) -> Rule:
    return rs.rules[index]


@pytest.mark.parametrize(
    "when",
    [
        "[{domains.cognitive: {lt: 30}}, {domains.cognitive: {gt: 50}}]",
        "[{age.group: child}, {age.group: teen}]",
        "[{bands.cognitive: {lte: moderate}}, {bands.cognitive: {gte: mild}}]",
        "[{bands.cognitive: severe}, {domains.cognitive: {gte: 60}}]",
        "[{age.group: teen}, {age.years: {lt: 10}}]",
        "[{setting: school}, {setting: {ne: school}}]",
        "[{functions.sleep: {exists: false}}, {function_bands.sleep: severe}]",
        "[{history.high_adversity_periods: {gt: 2}}, {history.high_adversity_periods: {lt: 3}}]",
        "[{any: [{age.group: child}, {age.group: teen}]}, {age.years: {gte: 30}}]",
        "[{age.group: {in: [child, teen]}}, {age.group: {not_in: [child, teen]}}]",
    ],
)
def test_contradictory_conditions_never_fire(when: str) -> None:
    warning = never_fires(only(ruleset(rule(when))))
    assert warning is not None and warning.level == "warning"
    assert "can never fire" in warning.message


@pytest.mark.parametrize(
    "when",
    [
        "[{domains.cognitive: {gt: 30}}, {domains.cognitive: {lt: 32}}]",
        "[{bands.cognitive: severe}, {domains.cognitive: {lte: 34}}]",
        "[{age.group: teen}, {age.years: {gte: 14}}]",
        "[{age.years: {gt: 14.2}}, {age.years: {lt: 14.3}}]",
        "[{functions.sleep: {exists: false}}, {bands.cognitive: severe}]",
        "[{setting: school}, {setting: {ne: foster-care}}]",
        "[{any: [{age.group: child}, {age.group: adult}]}, {age.years: {gte: 30}}]",
    ],
)
def test_satisfiable_conditions_are_not_reported(when: str) -> None:
    assert never_fires(only(ruleset(rule(when)))) is None


def test_the_warning_points_at_the_clashing_test_and_names_both() -> None:
    rs = ruleset(
        rule("\n        - domains.cognitive: {lt: 30}\n        - domains.cognitive: {gt: 50}")
    )
    warning = never_fires(only(rs))
    assert warning is not None
    assert (warning.line, warning.col) == (10, 31)  # the first clashing operator
    assert "{lt: 30}` (line 10)" in warning.message and "{gt: 50}` (line 11)" in warning.message


def test_a_rule_is_shadowed_by_a_broader_rule_raising_the_same_needs() -> None:
    rs = ruleset(
        rule("[{bands.cognitive: {lte: moderate}}]", "[help-a, help-b]", "      priority: 10\n"),
        rule("[{bands.cognitive: severe}, {age.group: child}]", "[help-a]", "      priority: 20\n"),
    )
    warning = shadowed_by(rs.rules[1], rs.rules)
    assert warning is not None
    assert "shadowed by 'lint-test/rule-0'" in warning.message
    assert shadowed_by(rs.rules[0], rs.rules) is None


@pytest.mark.parametrize(
    ("broad", "narrow"),
    [
        # the narrow rule raises a need the broad one does not
        (
            rule("[{bands.cognitive: severe}]"),
            rule("[{bands.cognitive: severe}]", "[help-a, help-b]"),
        ),
        # the narrow rule fires where the broad one does not
        (rule("[{bands.cognitive: severe}]"), rule("[{bands.cognitive: {lte: moderate}}]")),
        # the narrow rule is a warning, the broad one only info
        (
            rule("[{bands.cognitive: severe}]"),
            rule("[{bands.cognitive: severe}]", extra="      indicator: warning\n"),
        ),
        # the narrow rule acts first, so its `because` leads the item
        (
            rule("[{bands.cognitive: severe}]", extra="      priority: 50\n"),
            rule("[{bands.cognitive: severe}]", extra="      priority: 5\n"),
        ),
    ],
)
def test_a_rule_that_still_changes_the_plan_is_not_shadowed(broad: str, narrow: str) -> None:
    rs = ruleset(broad, narrow)
    assert shadowed_by(rs.rules[1], rs.rules) is None


def test_implication_understands_bands_scores_and_ages() -> None:
    rs = ruleset(
        rule("[{domains.cognitive: {lt: 20}}, {age.years: {gte: 6, lte: 9}}]"),
        rule("[{bands.cognitive: severe}, {age.group: child}]"),
    )
    assert implies(rs.rules[0], rs.rules[1])
    assert not implies(rs.rules[1], rs.rules[0])


def test_short_because_is_reported() -> None:
    rs = ruleset(rule("[{bands.cognitive: severe}]", extra="      because: Low.\n"))
    warning = short_because(only(rs))
    assert warning is not None and "`because` has 1 word" in warning.message
    assert short_because(only(ruleset(rule("[{bands.cognitive: severe}]")))) is None


def test_a_need_no_rule_raises_is_reported() -> None:
    rs = ruleset(rule("[{bands.cognitive: severe}]"))
    warnings = unraised_needs(rs, rs.rules)
    assert [w.message for w in warnings] == ["need 'help-b' is declared but no rule raises it"]
    assert (warnings[0].line, warnings[0].col) == (5, 3)


def test_a_need_a_setting_cannot_deliver_at_the_ages_it_serves_is_reported() -> None:
    rs = ruleset(rule("[{bands.cognitive: severe}, {age.years: {gte: 8}}]", "[help-a, help-b]"))
    catalogue = parse_catalogue(
        "catalogue: tiny\nversion: '1'\nsetting: tiny\nitems:\n"
        "  - {id: a-young, meets: [help-a], title: A, description: A., modality: talk,"
        " delivered_by: [teacher], audience: [teacher], ages: {min: 5, max: 10}}\n",
        "tiny.yaml",
    )
    messages = [w.message for w in undelivered_needs(rs, rs.rules, [catalogue])]
    # help-a is delivered at 8-10; the catalogue serves no one older, so 11+ is not a gap.
    assert messages == [
        "need 'help-b' can be raised at ages 8-10, where the tiny catalogue has no item for it"
    ]


def test_a_catalogue_missing_a_safety_item_at_ages_it_serves_is_reported() -> None:
    core = core_ruleset()
    catalogue = parse_catalogue(
        "catalogue: respite\nversion: '1'\nsetting: respite\nitems:\n"
        "  - {id: r-suicide, meets: [suicide-risk-response], title: S, description: S.,"
        " modality: safety-protocol, delivered_by: [caregiver], audience: [caregiver],"
        " ages: {min: 8, max: 12}}\n"
        "  - {id: r-rhythm, meets: [patterned-rhythmic-activity], title: R, description: R.,"
        " modality: movement, delivered_by: [caregiver], audience: [caregiver],"
        " ages: {min: 5, max: 12}}\n",
        "respite.yaml",
    )
    messages = [w.message for w in undelivered_needs(core, core.rules, [catalogue])]
    suicide = [m for m in messages if m.startswith("need 'suicide-risk-response'")]
    assert suicide == [
        "need 'suicide-risk-response' can be raised at ages 5-7, where the respite catalogue "
        "has no item for it; plans there fall back to the need's generic protocol"
    ]
    # release from custody is raised only in justice-reentry plans: no gap in respite
    assert not [m for m in messages if "release-" in m]


def test_the_core_ruleset_lints_clean_against_the_shipped_catalogues(
    planner_plugins: PluginSet,
) -> None:
    core = core_ruleset()
    assert lint_ruleset(core, core.rules, planner_plugins.catalogues, core.bands) == []


def test_check_reports_lint_warnings_without_failing(tmp_path: Path) -> None:
    path = tmp_path / "dead.yaml"
    path.write_text(
        "ruleset: dead\nversion: '1'\nneeds: {}\nstages:\n  cognitive:\n"
        "    - id: never\n      when:\n        - age.group: child\n        - age.years: {gte: 40}\n"
        "      needs: [learning-support-and-accommodations]\n"
        f"      because: {BECAUSE}\n",
        encoding="utf-8",
    )
    report = check_paths([path])
    assert report.errors == 0
    assert [(d.line, d.col, d.level) for d in report.diagnostics] == [(8, 11, "warning")]
    assert "rule 'never' can never fire" in report.diagnostics[0].message


def _generated(size: int, monkeypatch: pytest.MonkeyPatch) -> Ruleset:
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "bench"))
    from rulegen import generated_ruleset

    generated: Ruleset = generated_ruleset(size)
    return generated


def test_shadowing_finds_what_comparing_every_pair_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    rs = _generated(200, monkeypatch)
    rules = rs.rules
    by_pairs = set()
    for rule in rules:
        mine = {ref.id for ref in rule.needs}
        for other in rules:
            if (
                other is not rule
                and not rule.cautions
                and not rule.holds
                and mine <= {ref.id for ref in other.needs}
                and INDICATORS.index(other.indicator) <= INDICATORS.index(rule.indicator)
                and (other.priority, other.qualified_id) <= (rule.priority, rule.qualified_id)
                and never_fires(rule, rs.bands or DEFAULT_BANDS) is None
                and implies(rule, other, rs.bands or DEFAULT_BANDS)
            ):
                by_pairs.add((rule.id, other.qualified_id))
                break
    found = {
        (w.message.split("'")[1], w.message.split("'")[3])
        for w in lint_ruleset(rs, rules, [], rs.bands)
        if "is shadowed by" in w.message
    }
    assert found == by_pairs
    assert len(found) >= 5


def test_shadowing_compares_a_rule_only_with_rules_that_could_shadow_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rs = _generated(1000, monkeypatch)
    calls = []
    real = lint.implies

    def counted(*args: Any, **kwargs: Any) -> bool:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(lint, "implies", counted)
    warnings = lint_ruleset(rs, rs.rules, [], rs.bands)
    assert any("is shadowed by" in w.message for w in warnings)
    # Comparing every pair that raises the same needs took 10,225 implications here.
    assert len(calls) < len(rs.rules)
