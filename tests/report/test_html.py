"""``--format html`` without a browser: one self-contained page (nothing to fetch, only its own
scripts allowed to run), the JSON embedded as is, every text from the data escaped, and the
command line writing it to a file (atomically, as the other formats) or to standard output."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from leadsync.report.html import CHART_JS_VERSION, cell_text, render_html
from leadsync.rules.loader import load_rules
from tests.report.test_cli import EXAMPLE, RECORDS, invoke

REPORT = json.loads((EXAMPLE / "expected.json").read_text())
EVIL = '<script>alert("x")</script>&<img src=x onerror=alert(1)>'


class _Parts(HTMLParser):
    """Every element with its attributes, and the text of each script."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def parts(page: bytes) -> _Parts:
    parser = _Parts()
    parser.feed(page.decode())
    return parser


def test_nothing_to_fetch_and_only_its_own_scripts_run() -> None:
    page = render_html(REPORT, load_rules(EXAMPLE / "rules.yaml"))
    found = parts(page)
    for tag, attrs in found.elements:
        assert "src" not in attrs and tag not in ("link", "iframe", "img", "object"), (tag, attrs)
        assert not (attrs.get("href") or "#").strip().startswith(("http", "//")), (tag, attrs)
    csp = next(a["content"] for t, a in found.elements if a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp
    json_script, chart_js, own = found.scripts
    assert json.loads(json_script) == REPORT
    assert f"Chart.js v{CHART_JS_VERSION}" in chart_js and "sourceMappingURL" not in chart_js
    for script in (chart_js, own):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


def test_the_month_in_progress_in_the_rules_time_zone_is_marked() -> None:
    page = render_html(REPORT, load_rules(EXAMPLE / "rules.yaml")).decode()
    assert page.count('class="in-progress"') == 1
    assert re.search(r'<tr class="in-progress"><td class="name">2026-12<span class="tag">', page)
    assert 'data-now-month="2026-12"' in page and 'data-speed-unit="business minutes"' in page
    assert "first sales touch within 2h, business hours" in page
    assert "This month: 4 MQLs so far, on pace for 14 against 4 committed (on track)." in page


def test_without_rules_the_month_of_now_in_utc() -> None:
    page = render_html(REPORT).decode()
    assert 'data-now-month="2026-12"' in page and 'data-speed-unit="minutes"' in page


def test_texts_from_the_data_are_escaped() -> None:
    evil = copy.deepcopy(REPORT)
    evil["window"]["rules"] = EVIL
    evil["funnel"]["by_source"][0]["source"] = EVIL
    evil["sla"]["by_owner"][1]["name"] = EVIL
    evil["reasons"]["rows"][0]["by_source"] = {EVIL: 1}
    evil["reasons"]["unknown"][0]["value"] = EVIL + "</script><!--"
    page = render_html(evil)
    found = parts(page)
    assert [t for t, _ in found.elements].count("script") == 3
    assert not any(t == "img" for t, _ in found.elements)
    assert json.loads(found.scripts[0]) == evil
    text = page.decode()
    assert EVIL not in text and "</script><!--" not in text
    assert text.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;img") >= 5


def test_values_as_shown() -> None:
    assert [cell_text(v) for v in (None, True, False, 1234, "a")] == ["-", "yes", "no", "1,234", "a"]
    assert [cell_text(v, percent=True) for v in (0.333, 1.0, 0.0, None)] == ["33.3%", "100.0%", "0.0%", "-"]


def test_the_command_writes_the_page_to_a_file_or_stdout(tmp_path: Path) -> None:
    out = tmp_path / "review.html"
    code, stdout, err = invoke(*RECORDS, "--format", "html", "--out", str(out))
    assert code == 0 and stdout == "", err
    expected = render_html(REPORT, load_rules(EXAMPLE / "rules.yaml"))
    assert out.read_bytes() == expected
    assert [p.name for p in tmp_path.iterdir()] == ["review.html"]  # no temporary file left
    code, stdout, err = invoke(*RECORDS, "--format", "html")
    assert code == 0 and stdout.encode() == expected, err


def test_a_folder_as_out_is_refused(tmp_path: Path) -> None:
    code, stdout, err = invoke(*RECORDS, "--format", "html", "--out", str(tmp_path))
    assert code == 2 and stdout == ""
    assert f"--out:0: {tmp_path} is a folder; name a file" in err
