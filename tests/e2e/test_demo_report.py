"""``leadsync demo`` ends with the report of what it did (CONTRACT §6), for each CRM sandbox: months
of handoffs, touches and outcomes, so every section of it has something honest to show."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import leadsync, no_secret


@pytest.mark.parametrize("crm", ["hubspot", "salesforce", "zoho"])
def test_the_demo_writes_a_report_with_something_in_every_section(tmp_path: Path, crm: str) -> None:
    folder = tmp_path / "demo"
    run = leadsync("demo", "--dir", str(folder), "--crm", crm, token=None, timeout=180)
    assert run.code == 0, run.text[-3000:]
    assert "Traceback" not in run.text and no_secret(run.text)
    page, text, data = folder / "report.html", folder / "report.txt", folder / "report.json"
    assert f"open it in a browser: {page}" in run.out and f"{text}, {data}" in run.out
    report: dict[str, Any] = json.loads(data.read_text(encoding="utf-8"))

    commitment = report["commitment"]
    assert len(commitment) == 3 and all(month["handoffs"] > 0 for month in commitment), commitment
    sources = [row for row in report["funnel"]["by_source"] if row["handoffs"] > 0]
    assert len(sources) >= 3, sources
    funnel = report["funnel"]["periods"]
    for column in ("sql", "opportunity", "nurture", "disqualified", "open"):  # opportunity has customers
        assert sum(row[column] for row in funnel) > 0, (column, funnel)
    sla = report["sla"]["periods"]
    assert sum(row["on_time"] for row in sla) > 0 and sum(row["late"] for row in sla) > 0, sla
    assert any(row["speed_to_lead_min"]["median"] is not None for row in sla)
    assert all(row["name"] for row in report["sla"]["by_owner"])  # owners with names
    reasons = report["reasons"]
    assert reasons["rows"] and reasons["total"] > 0
    assert reasons["unknown"], reasons  # texts for the admin to map as aliases

    # The page and the text report show the same report (same `now`), the demo its headline numbers.
    assert json.dumps(report["window"]["now"]) in page.read_text(encoding="utf-8")
    assert f"now {report['window']['now']}; {report['window']['contacts']} contacts decided" in (
        text.read_text(encoding="utf-8")
    )
    month = commitment[-1]
    assert f"MQLs handed to sales in {month['month']}: {month['handoffs']} so far" in run.out
    assert re.search(
        r"first sales touch within the SLA: \d+ on time, \d+ late \(\d+\.\d% compliance\)", run.out
    )
    top = reasons["rows"][0]
    assert f"top reason leads were lost: {top['reason']}" in run.out
    assert "reason texts matching no code" in run.out
