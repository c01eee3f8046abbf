"""JSON bodies as CRMs send them and as cursors keep them: objects out of text that may not be one.

A CRM's error body is not always JSON (a gateway's HTML, a proxy's text), and not always an
object; the readers here never raise, so an error path never fails on the error it reports.
"""

from __future__ import annotations

import json
from typing import Any

import requests

__all__ = ["JSON", "compact_json", "json_object", "response_object"]

JSON = dict[str, Any]


def compact_json(value: Any) -> str:
    """``value`` as JSON without spaces (cursors, request bodies kept in errors)."""
    return json.dumps(value, separators=(",", ":"))


def json_object(text: str | None, *, keep: int | None = 500) -> JSON:
    """The JSON object in ``text``: ``{}`` when empty, ``{"results": […]}`` for a list, and
    ``{"message": text}`` for text that is not JSON (its first ``keep`` characters; None: all)."""
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {"message": text[:keep] if keep is not None else text}
    return data if isinstance(data, dict) else {"results": data}


def response_object(response: requests.Response) -> JSON:
    """A response's JSON object, or ``{}`` when its body is not one (an OAuth server's HTML)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
