"""A Microsoft Teams Workflows webhook receiver on 127.0.0.1 ("Post to a channel when a webhook
request is received"): ``POST /workflows/{id}/triggers/manual/paths/invoke?...&sig=...``.

It takes a message whose attachments are Adaptive Cards and answers 202 Accepted, as the Power
Automate trigger does; 400 ``InvalidRequestContent`` for anything else (not JSON, not a
``message``, no Adaptive Card, a card without ``version`` or ``body``, an element without
``type``); 401 ``DirectApiAuthorizationRequired`` for a wrong ``sig``; 404 for an unknown flow;
429 with ``Retry-After`` (an injected storm). The cards it took are in ``received()``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.notify.receiver import Receiver

__all__ = ["CARD_TYPE", "TeamsReceiver", "card_problem"]

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
_PATH = re.compile(r"^/workflows/(?P<flow>[0-9a-f]+)/triggers/manual/paths/invoke$")


def _error(status: int, code: str, message: str) -> Response:
    return Response.json(status, {"error": {"code": code, "message": message}})


def _elements_problem(elements: Any, where: str) -> str | None:
    if not isinstance(elements, list):
        return f"{where} is not a list"
    for i, element in enumerate(elements):
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            return f"{where}[{i}] has no type"
        if element["type"] == "FactSet" and not all(
            isinstance(f, dict) and isinstance(f.get("title"), str) and isinstance(f.get("value"), str)
            for f in element.get("facts") or [None]
        ):
            return f"{where}[{i}]: a FactSet's facts need a title and a value"
        if element["type"] == "Action.OpenUrl" and not str(element.get("url") or "").startswith("http"):
            return f"{where}[{i}]: Action.OpenUrl needs an http(s) url"
    return None


def card_problem(message: Any) -> str | None:
    """Why ``message`` is not a Teams message of Adaptive Cards, or None."""
    if not isinstance(message, dict) or message.get("type") != "message":
        return "the body must be a JSON object with type `message`"
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "`attachments` must list at least one card"
    for i, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_TYPE:
            return f"attachments[{i}] is not an Adaptive Card ({CARD_TYPE})"
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            return f"attachments[{i}].content is not an AdaptiveCard"
        if not re.match(r"^1\.\d+$", str(card.get("version") or "")):
            return f"attachments[{i}].content.version must be 1.x"
        problem = _elements_problem(card.get("body"), f"attachments[{i}].content.body")
        problem = problem or _elements_problem(card.get("actions", []), f"attachments[{i}].content.actions")
        if problem:
            return problem
    return None


class TeamsReceiver(Receiver):
    """Workflows (flows) that each post to a Teams channel; ``add_flow`` gives a flow's URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        super().__init__("Teams Workflows sandbox", host, port, tls)
        self.flows: dict[str, tuple[str, str]] = {}  # flow id -> (channel, sig)

    def add_flow(self, channel: str) -> str:
        """A flow posting to ``channel``; its URL (with its ``sig``, the secret)."""
        flow, sig = secrets.token_hex(16), secrets.token_urlsafe(24)
        self.flows[flow] = (channel, sig)
        query = f"api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
        return f"{self.url}/workflows/{flow}/triggers/manual/paths/invoke?{query}"

    def endpoint_name(self, path: str) -> str:
        return _PATH.sub("/workflows/{flow}/triggers/manual/paths/invoke", path)

    def handle(self, request: Request) -> Response:
        match = _PATH.match(request.path)
        if request.method != "POST" or match is None or match["flow"] not in self.flows:
            return _error(404, "TriggerNotFound", "The workflow or its trigger was not found.")
        channel, sig = self.flows[match["flow"]]
        if (request.query.get("sig") or [""])[0] != sig:
            return _error(401, "DirectApiAuthorizationRequired", "The request must be authenticated (sig).")
        body = self.json_body(request)
        problem = card_problem(body)
        if problem:
            return _error(400, "InvalidRequestContent", problem)
        self.record(request, channel, body)
        return Response(202, b"", {}, None)

    def too_many(self) -> Response:
        headers = {"Retry-After": str(self.retry_after)}
        return Response.json(
            429, {"error": {"code": "TooManyRequests", "message": "Rate limit is exceeded."}}, headers
        )
