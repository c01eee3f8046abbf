"""The system's headless Chromium, driven by Selenium through the system's chromedriver.

Debian's ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them). Without them a
test skips, except in CI (``LEADSYNC_REQUIRE_BROWSER=1``), where it fails. Selenium is given both
paths, so it never looks for (or downloads) a browser or a driver of its own.

``Page`` is one page loaded with every console message and network request logged: what it
asked for (``requests``), what it complained about (``errors``), and a full-page screenshot saved
under ``$LEADSYNC_ARTIFACTS`` (default: a temporary folder), which CI keeps.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["Page", "artifacts", "chromium"]

_BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def artifacts() -> Path:
    """Where screenshots go: ``$LEADSYNC_ARTIFACTS`` (made when missing), else a temporary folder."""
    where = os.environ.get("LEADSYNC_ARTIFACTS")
    folder = Path(where) if where else Path(tempfile.gettempdir()) / "leadsync-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()


def _missing(what: str) -> None:
    message = (
        f"{what}; install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("LEADSYNC_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Page:
    """A page opened in the browser, and what it did."""

    driver: Any
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def screenshot(self, name: str, width: int, *, mobile: bool = False) -> Path:
        """The whole page at ``width`` CSS pixels (a phone's viewport when ``mobile``), as PNG."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": mobile},
        )
        self.run("window.dispatchEvent(new Event('resize'))")
        height = int(self.run("return document.documentElement.scrollHeight"))
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        path = artifacts() / name
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Chromium:
    """One headless browser; ``open`` loads a URL and collects what the page did."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str) -> Page:
        self.driver.get_log("performance")  # drop what an earlier page left
        self.driver.get_log("browser")
        self.driver.get(url)
        self.driver.execute_script("return document.readyState")
        page = Page(self.driver, url)
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                page.requests.append(message["params"]["request"]["url"])
        page.errors = [
            f"{e['level']}: {e['message']}" for e in self.driver.get_log("browser") if e["level"] == "SEVERE"
        ]
        return page


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    """A headless Chromium for the module's tests (skipped, or failed in CI, when missing)."""
    binary = next((found for b in _BROWSERS if (found := shutil.which(b))), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        _missing("no chromium" if binary is None else "no chromedriver")
    assert binary is not None and driver_path is not None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (the test extra)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield Chromium(driver)
    finally:
        driver.quit()
