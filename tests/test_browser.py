"""Reports in a real headless browser: Debian's chromium prints them to PDF and takes
screenshots; poppler's pdftotext reads the PDF back.

Checks what a person holding the printout would notice: every caution and delivery
detail printed, a running header and the disclaimer on every page, no near-empty pages,
handouts on at most two pages, and no network request or console error.

`make reports` runs this module with NMT_RULES_WRITE_REPORTS=1 to refresh the committed
examples under examples/reports/ (HTML, text and a screenshot of each).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from nmt_rules import Plan, Planner, load_brain_map
from nmt_rules.report import AUDIENCES, render

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ("child-school", "teen-foster-care", "adult-reentry")
REPORTS = ROOT / "examples" / "reports"
CHROMIUM = Path(os.environ.get("NMT_RULES_CHROMIUM", "/usr/bin/chromium"))
#: Flags that keep chromium from reaching Google's hosts (there is no network here).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: A printed page (not the last) with fewer text lines than this is near-empty.
MIN_LINES_PER_PAGE = 12


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("pdftotext") is None:
        return "no pdftotext (apt-get install poppler-utils)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        # CI must run these: a missing browser there is a broken setup, not a skip.
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        yield launched
        launched.close()


@attrs.frozen
class Printed:
    """What the browser made of one report."""

    pages: list[str]  # pdftotext's text, page by page
    console_errors: list[str]
    requests: list[str]  # every URL requested besides the page itself
    screenshot: bytes


def _print(browser: Any, page_html: str, where: Path) -> Printed:
    where.write_text(page_html, encoding="utf-8")
    url = where.resolve().as_uri()
    context = browser.new_context(viewport={"width": 1000, "height": 1300})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: requests.append(r.url) if r.url != url else None)
    page.goto(url)
    screenshot = page.screenshot()
    pdf = where.with_suffix(".pdf")
    page.pdf(path=str(pdf), format="Letter")
    context.close()
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return Printed(pages, errors, requests, screenshot)


@pytest.fixture(scope="module")
def plans(planner: Planner) -> dict[str, Plan]:
    return {
        name: planner.plan(load_brain_map(ROOT / "examples" / f"{name}.yaml")) for name in EXAMPLES
    }


def _flat(text: str) -> str:
    return " ".join(text.split())


def _lines(page: str) -> int:
    return sum(1 for line in page.splitlines() if line.strip())


@pytest.fixture(scope="module")
def printed(
    browser: Any, plans: dict[str, Plan], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Printed]:
    out = {}
    folder = tmp_path_factory.mktemp("reports")
    write = os.environ.get("NMT_RULES_WRITE_REPORTS") == "1"
    for name, plan in plans.items():
        for audience in AUDIENCES:
            page_html = render(plan, "html", audience)
            result = _print(browser, page_html, folder / f"{name}-{audience}.html")
            out[(name, audience)] = result
            if write:
                REPORTS.mkdir(exist_ok=True)
                stem = REPORTS / f"{name}-{audience}"
                stem.with_suffix(".html").write_text(page_html, encoding="utf-8")
                stem.with_suffix(".txt").write_text(render(plan, "text", audience), "utf-8")
                stem.with_suffix(".png").write_bytes(result.screenshot)
    return out


CASES = [(name, audience) for name in EXAMPLES for audience in AUDIENCES]


@pytest.mark.parametrize(("name", "audience"), CASES)
def test_report_loads_nothing_and_logs_no_error(
    printed: dict[tuple[str, str], Printed], name: str, audience: str
) -> None:
    result = printed[(name, audience)]
    assert result.requests == []
    assert result.console_errors == []
    assert result.screenshot.startswith(b"\x89PNG")


@pytest.mark.parametrize(("name", "audience"), CASES)
def test_every_printed_page_has_the_header_and_the_disclaimer(
    printed: dict[tuple[str, str], Printed], plans: dict[str, Plan], name: str, audience: str
) -> None:
    plan = plans[name]
    pages = printed[(name, audience)].pages
    disclaimer = "not a diagnostic tool" if audience == "clinician" else "It is not a diagnosis"
    for number, page in enumerate(pages, 1):
        flat = _flat(page)
        assert f"{plan.subject_id} · assessed {plan.assessed_on}" in flat, number
        assert plan.plan_id in flat, number
        assert disclaimer in flat, number
        assert f"page {number} of {len(pages)}" in flat


@pytest.mark.parametrize(("name", "audience"), CASES)
def test_no_printed_page_but_the_last_is_near_empty(
    printed: dict[tuple[str, str], Printed], name: str, audience: str
) -> None:
    pages = printed[(name, audience)].pages
    assert all(_lines(page) >= MIN_LINES_PER_PAGE for page in pages[:-1])


@pytest.mark.parametrize("name", EXAMPLES)
def test_clinician_report_prints_every_caution_and_delivery_detail(
    printed: dict[tuple[str, str], Printed], plans: dict[str, Plan], name: str
) -> None:
    text = _flat(" ".join(printed[(name, "clinician")].pages))
    plan = plans[name]
    expected = [c.text for c in plan.cautions]
    for item in plan.items:
        expected += [c.text for c in item.cautions]
        for d in item.delivery:
            # Collapsed on screen, so this proves the print stylesheet opens them.
            expected += [d.description, *d.contraindications]
    assert expected
    for sentence in expected:
        opening = " ".join(_flat(sentence).split()[:8])
        assert opening in text, f"not printed: {sentence!r}"


@pytest.mark.parametrize(("name", "audience"), [c for c in CASES if c[1] != "clinician"])
def test_handout_fits_two_printed_pages_and_prints_its_cautions(
    printed: dict[tuple[str, str], Printed], name: str, audience: str
) -> None:
    result = printed[(name, audience)]
    assert len(result.pages) <= 2
    text = _flat(" ".join(result.pages))
    assert "Who to contact in a crisis" in text
    assert "call or text 988" in text


def test_teen_handout_prints_the_safety_item_first(
    printed: dict[tuple[str, str], Printed], plans: dict[str, Plan]
) -> None:
    text = _flat(" ".join(printed[("teen-foster-care", "caregiver")].pages))
    safety = next(i for i in plans["teen-foster-care"].items if i.stage == "safety")
    assert safety.plain is not None
    assert text.index(safety.plain.title) < text.index("What is going on")


def test_markup_in_a_subject_id_or_plugin_text_prints_as_text(
    browser: Any, plans: dict[str, Plan], tmp_path: Path
) -> None:
    hostile = "<img src=http://example.invalid/x.png onerror=alert(1)></style><b>x"
    plan = plans["child-school"]
    first = plan.items[0]
    delivery = attrs.evolve(first.delivery[0], title=hostile)
    plan = attrs.evolve(
        plan,
        subject_id=hostile,
        items=(attrs.evolve(first, delivery=(delivery,)), *plan.items[1:]),
    )
    for audience in AUDIENCES:
        result = _print(browser, render(plan, "html", audience), tmp_path / f"{audience}.html")
        assert result.requests == []
        assert result.console_errors == []
        assert re.search(r"<img src=http://example\.invalid", _flat(" ".join(result.pages)))
