"""A Slack-compatible server on 127.0.0.1: incoming webhooks and the two Web API methods leadsync
uses, answering as Slack documents.

- ``POST /services/T…/B…/X…`` (an incoming webhook): ``ok``; 400 ``invalid_payload`` (not JSON),
  ``no_text`` (neither text nor blocks), ``invalid_blocks``; 404 ``no_service`` (unknown URL);
  410 ``channel_is_archived``; 429 with ``Retry-After`` when a channel gets more than one message
  a second (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks).
- ``POST /api/chat.postMessage`` and ``GET|POST /api/users.lookupByEmail`` with
  ``Authorization: Bearer <token>``: HTTP 200 with ``{"ok": false, "error": ...}`` for
  ``not_authed``, ``invalid_auth``, ``channel_not_found``, ``is_archived``, ``no_text``,
  ``invalid_blocks``, ``users_not_found``; HTTP 429 ``ratelimited`` with ``Retry-After`` past one
  message a second per channel (https://docs.slack.dev/apis/web-api/rate-limits).

A channel is named with or without ``#`` or by its id; a user id as the channel is a direct
message. ``received()`` holds every message taken, with its channel.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from leadsync.sandboxes.kit.server import Request, Response
from leadsync.sandboxes.notify.receiver import Receiver

__all__ = ["SlackReceiver"]

MAX_BLOCKS = 50


def _text(status: int, body: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, body.encode(), dict(headers or {}), "text/plain; charset=utf-8")


def _ok(body: dict[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response.json(status, body, headers)


def _blocks_problem(blocks: Any) -> str | None:
    """Why ``blocks`` is not Block Kit Slack takes (a shallow check, as the API's first gate)."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return "invalid_blocks"
        if block["type"] == "header" and len(str((block.get("text") or {}).get("text", ""))) > 150:
            return "invalid_blocks"
        if block["type"] == "section" and len(block.get("fields") or []) > 10:
            return "invalid_blocks"
    return None


class SlackReceiver(Receiver):
    """The local Slack: channels, users, webhooks, one bot token, one message/s per channel."""

    per_channel_per_second: float = 1.0

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        super().__init__("Slack sandbox", host, port, tls)
        self.token = "xoxb-sandbox-" + secrets.token_hex(8)
        self.channels: dict[str, str] = {}  # name -> id
        self.users: dict[str, str] = {}  # e-mail -> id
        self.webhooks: dict[str, str] = {}  # path -> channel id
        self.archived: set[str] = set()
        self._last_post: dict[str, float] = {}
        self._rate_lock = threading.Lock()
        self._counter = 0
        self.add_channel("general")

    # -- set-up --------------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter:08d}"

    def add_channel(self, name: str) -> str:
        """A channel (``sales-leads``); its id."""
        name = name.lstrip("#")
        return self.channels.setdefault(name, self._next_id("C"))

    def add_user(self, email: str) -> str:
        """A workspace member found by ``email``; their user id (a DM's channel)."""
        return self.users.setdefault(email.lower(), self._next_id("U"))

    def add_webhook(self, channel: str) -> str:
        """An incoming webhook posting to ``channel``; its full URL."""
        channel_id = self.add_channel(channel)
        team, bot = secrets.token_hex(4).upper(), secrets.token_hex(4).upper()
        path = f"/services/T{team}/B{bot}/{secrets.token_hex(12)}"
        self.webhooks[path] = channel_id
        return self.url + path

    def archive(self, channel: str) -> None:
        self.archived.add(self._channel_id(channel) or channel)

    def limits(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after, "per_channel_per_second": self.per_channel_per_second}

    def reset(self, **_: Any) -> None:
        super().reset()
        with self._rate_lock:
            self._last_post.clear()
        self.archived.clear()

    # -- requests ------------------------------------------------------------------------------

    def endpoint_name(self, path: str) -> str:
        return "/services/{T}/{B}/{X}" if path.startswith("/services/") else path

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/services/"):
            return self._webhook(request, path)
        methods: dict[str, Callable[[Request, dict[str, Any]], Response]] = {
            "/api/chat.postMessage": self._post_message,
            "/api/users.lookupByEmail": self._lookup,
        }
        if path not in methods:
            return _ok({"ok": False, "error": "unknown_method"}, 404)
        auth = request.headers.get("Authorization") or ""
        args = self._args(request)
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else args.get("token")
        if not token:
            return _ok({"ok": False, "error": "not_authed"})
        if token != self.token:
            return _ok({"ok": False, "error": "invalid_auth"})
        return methods[path](request, args)

    @staticmethod
    def _args(request: Request) -> dict[str, Any]:
        args: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
        kind = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        if kind == "application/json":
            body = Receiver.json_body(request)
            if isinstance(body, dict):
                args.update(body)
        elif request.body:
            args.update({k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()})
        if isinstance(args.get("blocks"), str):
            try:
                args["blocks"] = json.loads(args["blocks"])
            except ValueError:
                args["blocks"] = "not json"
        return args

    def _channel_id(self, channel: str) -> str | None:
        if channel in self.channels.values() or channel in self.users.values():
            return channel
        return self.channels.get(channel.lstrip("#"))

    def _limited(self, channel_id: str) -> Response | None:
        """One message a second per channel; a 429 with the seconds left otherwise."""
        now = time.monotonic()
        gap = 1.0 / self.per_channel_per_second if self.per_channel_per_second > 0 else 0.0
        with self._rate_lock:
            last = self._last_post.get(channel_id)
            if last is not None and now - last < gap:
                self.app.stats.count("rate_limited", channel_id)
                return (
                    None
                    if gap == 0
                    else self._too_many_for(max(self.retry_after, math.ceil(gap - (now - last))))
                )
            self._last_post[channel_id] = now
        return None

    def _too_many_for(self, seconds: int) -> Response:
        return Response(429, b"", {"Retry-After": str(seconds)}, None)

    def _webhook(self, request: Request, path: str) -> Response:
        channel_id = self.webhooks.get(path)
        if channel_id is None:
            return _text(404, "no_service")
        body = self.json_body(request)
        if not isinstance(body, dict):
            return _text(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return _text(400, "no_text")
        if _blocks_problem(body.get("blocks")):
            return _text(400, "invalid_blocks")
        if channel_id in self.archived:
            return _text(410, "channel_is_archived")
        limited = self._limited(channel_id)
        if limited is not None:
            return _text(429, "rate_limited", limited.headers)
        self.record(request, "webhook", {"channel": channel_id, **body})
        return _text(200, "ok")

    def _post_message(self, request: Request, args: dict[str, Any]) -> Response:
        channel_id = self._channel_id(str(args.get("channel") or ""))
        if channel_id is None:
            return _ok({"ok": False, "error": "channel_not_found"})
        if channel_id in self.archived:
            return _ok({"ok": False, "error": "is_archived"})
        if not args.get("text") and not args.get("blocks"):
            return _ok({"ok": False, "error": "no_text"})
        if _blocks_problem(args.get("blocks")):
            return _ok({"ok": False, "error": "invalid_blocks"})
        limited = self._limited(channel_id)
        if limited is not None:
            return _ok({"ok": False, "error": "ratelimited"}, 429, limited.headers)
        ts = f"{time.time():.6f}"
        message = {"channel": channel_id, "text": args.get("text"), "blocks": args.get("blocks")}
        self.record(request, "chat.postMessage", message)
        return _ok({"ok": True, "channel": channel_id, "ts": ts, "message": {"ts": ts, **message}})

    def _lookup(self, request: Request, args: dict[str, Any]) -> Response:
        email = str(args.get("email") or "").lower()
        user_id = self.users.get(email)
        if user_id is None:
            return _ok({"ok": False, "error": "users_not_found"})
        return _ok({"ok": True, "user": {"id": user_id, "profile": {"email": email}}})

    def too_many(self) -> Response:
        return _ok({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(self.retry_after)})

    def server_error(self, status: int) -> Response:
        return _ok({"ok": False, "error": "internal_error"}, status)
