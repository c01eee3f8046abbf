"""The html report opened in a real headless Chromium: it renders without a console error and
without a single network request, its charts are drawn, and the numbers it shows (tables and
charts) are the JSON's. Screenshots at desktop and phone widths are kept (``LEADSYNC_ARTIFACTS``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from leadsync.report.html import render_html
from leadsync.report.tables import tables
from leadsync.rules.loader import load_rules
from tests.report.browser import Chromium, Page, chromium

__all__ = ["chromium", "numbers_shown"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "report"
REPORT = json.loads((EXAMPLE / "expected.json").read_text())
PERCENT = {"sql_rate", "customer_rate", "compliance", "share"}
CHARTS = [
    "commitment",
    "funnel_periods",
    "funnel_sources",
    "sla_periods",
    "speed_periods",
    "sla_owners",
    "speed_owners",
    "reasons",
]
EVIL = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"

_TABLES_JS = """
return Array.from(document.querySelectorAll('table')).map(t => ({
  id: t.id,
  head: Array.from(t.tHead.rows[0].cells).map(c => c.textContent),
  rows: Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.childNodes[0].textContent)),
}));
"""
_CHARTS_JS = """
return Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
  const chart = Chart.getChart(c);
  const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  return {kind: c.dataset.chart, painted: painted, area: c.width * c.height,
          labels: chart ? chart.data.labels : null,
          datasets: chart ? chart.data.datasets.map(d => ({label: d.label, data: d.data})) : null};
});
"""


def shown(value: Any, percent: bool) -> str:
    """How the page must show a JSON value (rates as percentages, null as -)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if percent:
        return f"{value * 100:.1f}%"
    return f"{value:,}" if isinstance(value, int) else str(value)


def numbers_shown(report: dict[str, Any]) -> dict[str, list[list[str]]]:
    """table id → the cells the page must show, from the report's JSON (via the csv's rows)."""
    out = {}
    for stem, header, rows in tables(report):
        if stem == "reasons":  # the known codes; the unknown texts are the to-do list
            header, rows = header[1:], [r[1:] for r in rows if r[0] == "code"]
        # (the reasons' columns after share are sources, named by the data)
        percent = [h in PERCENT and (stem != "reasons" or i < 4) for i, h in enumerate(header)]
        out[f"table-{stem}"] = [[shown(v, p) for v, p in zip(row, percent, strict=True)] for row in rows]
    return out


def _open(chromium: Chromium, tmp_path: Path, report: dict[str, Any], name: str) -> Page:
    path = tmp_path / name
    path.write_bytes(render_html(report, load_rules(EXAMPLE / "rules.yaml")))
    return chromium.open(path.as_uri())


@pytest.fixture(scope="module")
def page(chromium: Chromium, tmp_path_factory: pytest.TempPathFactory) -> Page:
    return _open(chromium, tmp_path_factory.mktemp("html"), REPORT, "report.html")


def test_no_console_error_and_no_request_but_the_page(page: Page) -> None:
    assert page.errors == []
    assert page.requests == [page.url]
    after = page.run("return performance.getEntriesByType('resource').map(e => e.name)")
    assert after == []


def test_the_embedded_json_is_the_report(page: Page) -> None:
    assert page.run("return JSON.parse(document.getElementById('report-data').textContent)") == REPORT


def test_the_tables_show_the_json_numbers(page: Page) -> None:
    found = {t["id"]: t["rows"] for t in page.run(_TABLES_JS)}
    assert found == numbers_shown(REPORT)
    todo = page.run(
        "return Array.from(document.querySelectorAll('#unknown-reasons li')).map(l => l.innerText)"
    )
    assert todo == ["No Contesta: 1 contact"]  # (the quotes and the box are drawn by CSS)


def test_every_chart_is_drawn_from_the_json(page: Page) -> None:
    charts = {c["kind"]: c for c in page.run(_CHARTS_JS)}
    assert list(charts) == CHARTS
    for kind, chart in charts.items():
        assert chart["datasets"], kind
        assert chart["painted"] > chart["area"] * 0.02, (
            f"{kind}: {chart['painted']} of {chart['area']} pixels"
        )
    r = REPORT
    commitment = charts["commitment"]["datasets"]
    assert commitment[0]["data"] == [m["handoffs"] for m in r["commitment"]]
    assert [a + b for a, b in zip(commitment[0]["data"], commitment[1]["data"], strict=True)] == [
        m["projected"] for m in r["commitment"]
    ]
    assert commitment[2]["data"] == [m["committed"] for m in r["commitment"]]
    assert charts["commitment"]["labels"] == ["2026-10", "2026-11", "2026-12 (projected)"]
    funnel = charts["funnel_periods"]["datasets"]
    for dataset, key in zip(funnel, ["handoffs", "sql", "opportunity", "customer"], strict=True):
        assert dataset["data"] == [p[key] for p in r["funnel"]["periods"]]
    assert charts["funnel_sources"]["labels"] == [s["source"] for s in r["funnel"]["by_source"]]
    sla = charts["sla_periods"]["datasets"]
    assert [d["data"] for d in sla[:3]] == [
        [p[k] for p in r["sla"]["periods"]] for k in ("on_time", "late", "open")
    ]
    assert sla[3]["data"] == [100.0, 0.0, 66.7]
    speed = charts["speed_owners"]["datasets"]
    assert speed[1]["data"] == [o["speed_to_lead_min"]["p90"] for o in r["sla"]["by_owner"]]
    reasons = {d["label"]: d["data"] for d in charts["reasons"]["datasets"]}
    assert reasons == {
        s: [row["by_source"].get(s, 0) for row in r["reasons"]["rows"]]
        for s in ("(none)", "organic", "paid_search")
    }


def test_screenshots_at_desktop_and_phone_width(page: Page) -> None:
    desktop = page.screenshot("report-desktop.png", 1280)
    phone = page.screenshot("report-phone.png", 390, mobile=True)
    for shot in (desktop, phone):
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    # On a phone the page is no wider than the screen: wide tables scroll inside their box.
    page.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        assert page.run("return document.documentElement.scrollWidth") <= 390
        assert (
            page.run("return getComputedStyle(document.querySelector('.table-scroll')).overflowX") == "auto"
        )
    finally:
        page.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_printed(page: Page) -> None:
    page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert page.run("return getComputedStyle(document.querySelector('nav.toc')).display") == "none"
        assert (
            page.run("return getComputedStyle(document.querySelector('.table-scroll')).overflowX")
            == "visible"
        )
    finally:
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = page.driver.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})
    assert len(pdf["data"]) > 10_000


def test_texts_from_the_data_never_run_or_fetch(chromium: Chromium, tmp_path: Path) -> None:
    """A source, an owner's name, a reason text and the rules' name that are markup stay text."""
    evil = copy.deepcopy(REPORT)
    evil["window"]["rules"] = EVIL
    evil["funnel"]["by_source"][0]["source"] = EVIL
    evil["reasons"]["rows"][0]["by_source"] = {EVIL: 1}
    evil["sla"]["by_owner"][1]["name"] = EVIL
    evil["reasons"]["unknown"][0]["value"] = EVIL + "</script>"
    page = _open(chromium, tmp_path, evil, "evil.html")
    assert page.errors == []
    assert page.requests == [page.url]
    assert page.run("return window.__pwned === undefined && document.querySelectorAll('img').length === 0")
    found = {t["id"]: t["rows"] for t in page.run(_TABLES_JS)}
    assert found == numbers_shown(evil)
    assert page.run("return document.querySelector('h1').textContent") == f"Weekly review: {EVIL}"
    assert page.run("return document.title") == f"Weekly review: {EVIL}"
    todo = page.run("return document.querySelector('#unknown-reasons li q').textContent")
    assert todo == EVIL + "</script>"
    charts = {c["kind"]: c for c in page.run(_CHARTS_JS)}
    assert charts["funnel_sources"]["labels"][0] == EVIL
