"""Prism (Stoplight's OpenAPI mock) serving HubSpot's official specs, behind a recording proxy.

Prism answers 422 (with an ``sl-violations`` header) to a request its spec does not allow, so a
test runs adapter operations through it and asserts no 422. The specs come from
HubSpot-public-api-spec-collection (``shared/specs/hubspot``), made Prism-friendly by
``shared/tools/hubspot_spec_for_prism.py`` and merged into one file (component names prefixed
per spec) so one Prism serves every endpoint the adapter calls. Prism is installed with npm into
``.cache/prism`` under the repository (git-ignored) the first time.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
SPECS_DIR = Path(os.environ.get("HUBSPOT_SPECS_DIR", SHARED / "specs" / "hubspot"))
SPEC_TOOL = Path(os.environ.get("HUBSPOT_SPEC_TOOL", SHARED / "tools" / "hubspot_spec_for_prism.py"))
PRISM_DIR = ROOT / ".cache" / "prism"
PRISM_JS = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
SPECS = (
    "contacts",
    "crmOwners",
    "associations",
    "tasks",
    "properties",
    "calls",
    "emails",
    "meetings",
    "notes",
)


class Unavailable(Exception):
    """Prism cannot run here (no node/npm, no specs, install failed): the tests skip."""


def ensure_prism() -> Path:
    """The Prism CLI script, installed into .cache/prism on first use."""
    if not SPECS_DIR.is_dir() or not all((SPECS_DIR / f"{s}.json").is_file() for s in SPECS):
        raise Unavailable(f"HubSpot OpenAPI specs not found in {SPECS_DIR} (set HUBSPOT_SPECS_DIR)")
    if not SPEC_TOOL.is_file():
        raise Unavailable(f"spec sanitiser not found at {SPEC_TOOL} (set HUBSPOT_SPEC_TOOL)")
    if not shutil.which("node") or not shutil.which("npm"):
        raise Unavailable("node and npm are needed to run Prism (the HubSpot OpenAPI mock)")
    if not PRISM_JS.is_file():
        PRISM_DIR.mkdir(parents=True, exist_ok=True)
        cmd = [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(PRISM_DIR),
            "@stoplight/prism-cli@5",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0 or not PRISM_JS.is_file():
            raise Unavailable(f"`npm install @stoplight/prism-cli@5` failed: {done.stderr[-500:]}")
    return PRISM_JS


def merged_spec(work: Path) -> Path:
    """Sanitise each spec, then merge them, prefixing component names with the spec's name."""
    merged: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": "HubSpot CRM (merged for Prism)", "version": "v3"},
        "servers": [{"url": "https://api.hubapi.com"}],
        "paths": {},
        "components": {"securitySchemes": {}},
    }
    for name in SPECS:
        out = work / f"{name}.json"
        cmd = [sys.executable, str(SPEC_TOOL), str(SPECS_DIR / f"{name}.json"), str(out), "--relax-search"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        spec = _prefixed(json.loads(out.read_text()), name)
        for path, ops in spec["paths"].items():
            merged["paths"].setdefault(path, ops)
        for section, items in spec.get("components", {}).items():
            target = merged["components"].setdefault(section, {})
            for key, value in items.items():
                target[key if section == "securitySchemes" else f"{name}_{key}"] = value
    path = work / "hubspot-merged.json"
    path.write_text(json.dumps(merged))
    return path


def _prefixed(node: Any, tag: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/"):
                _, _, section, name = value.split("/", 3)
                if section != "securitySchemes":
                    value = f"#/components/{section}/{tag}_{name}"
            out[key] = _prefixed(value, tag)
        return out
    if isinstance(node, list):
        return [_prefixed(x, tag) for x in node]
    return node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    violations: str


class RecordingProxy:
    """Forwards 127.0.0.1 requests to Prism and records each status and its violations."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.exchanges: list[Exchange] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=30)
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                violations = resp.getheader("sl-violations") or ""
                proxy.exchanges.append(Exchange(self.command, self.path, resp.status, violations))
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Prism:
    """One Prism process on a free 127.0.0.1 port, serving the merged spec."""

    def __init__(self, work: Path) -> None:
        script = ensure_prism()
        spec = merged_spec(work)
        self.port = free_port()
        self.log = work / "prism.log"
        cmd = ["node", str(script), "mock", "-h", "127.0.0.1", "-p", str(self.port), str(spec)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while b"Prism is listening" not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_bytes()[-800:].decode("utf-8", "replace")
                raise Unavailable(f"Prism did not start: {tail}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
