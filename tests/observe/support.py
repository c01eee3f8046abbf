"""Asking an HTTP endpoint on 127.0.0.1 (never through a proxy) and reading Prometheus's format."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one request (an error status is an answer, not an exception)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with _DIRECT.open(request, timeout=15) as answer:
            return answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by (name, labels), parsed by prometheus-client's own parser."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name, frozenset(sample.labels.items())] = sample.value
    return out


def value(
    scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: Any
) -> float | None:
    """One sample's value (None when the scrape has no such series)."""
    return scrape.get((name, frozenset((k, str(v)) for k, v in labels.items())))
