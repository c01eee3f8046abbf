"""``http:`` in the config file, and who may ask the listener what.

    http:
      listen: 0.0.0.0:9464            # beyond loopback: a token is required
      token_env: LEADSYNC_HTTP_TOKEN  # or token_file: /run/secrets/leadsync_http

On loopback only this machine can connect and no token is needed (one may still be set). Any
other address serves the report, the metrics and the health checks to the network, so the
config is refused at load without ``token_env`` or ``token_file``. With a token, ``/metrics``,
``/report`` and ``/report.json`` answer 401 (with ``WWW-Authenticate``) unless the request
sends it, as ``Authorization: Bearer TOKEN`` or as basic auth's password (any user name):
Prometheus, curl and a browser all can. ``/livez`` and ``/readyz`` stay open: a kubelet's
probes send no credentials, and they tell only whether the daemon is alive and ready. The token
is compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr

from leadsync.errors import ConfigError, Problem
from leadsync.observe.address import ListenAddress, parse_listen

if TYPE_CHECKING:
    from leadsync.rules.yamlsource import YamlSource

__all__ = ["CHALLENGES", "PROTECTED", "Guard", "HttpSettings", "http_settings"]

PROTECTED = frozenset({"/metrics", "/report", "/report.json"})  # behind the token, when one is set
CHALLENGES = ('Bearer realm="leadsync"', 'Basic realm="leadsync", charset="UTF-8"')


class HttpSettings(BaseModel):
    """``http:``: where ``leadsync run`` serves its metrics, health checks and report (none
    without it), and the token clients must send (required beyond loopback).

    ``listen`` is ``HOST:PORT`` or a port (on 127.0.0.1); another interface than loopback must be
    written out (``0.0.0.0:9464``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str | int = "127.0.0.1:9464"
    token_env: str | None = None
    token_file: Path | None = None
    _line: int = PrivateAttr(default=0)
    _token_at: tuple[str, int] = PrivateAttr(default=("config", 0))

    @property
    def address(self) -> ListenAddress:
        return parse_listen(self.listen)

    @property
    def line(self) -> int:
        """The config file's line of ``listen:`` (or ``http:``), for an address that cannot be used."""
        return self._line

    @property
    def has_token(self) -> bool:
        return bool(self.token_env or self.token_file)

    def token(self) -> SecretStr | None:
        """The token, from the environment variable or the file (a ConfigError at its line when
        it is missing or empty); None when the config sets none."""
        file, line = self._token_at
        if self.token_env:
            value = os.environ.get(self.token_env, "").strip()
            if not value:
                text = (
                    f"the environment variable {self.token_env} is not set; export the listener's token in it"
                )
                raise ConfigError([Problem(file, line, text)])
            return SecretStr(value)
        if self.token_file:
            try:
                value = self.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                text = f"cannot read the token file {self.token_file}: {exc.strerror}"
                raise ConfigError([Problem(file, line, text)]) from None
            if not value:
                raise ConfigError([Problem(file, line, f"the token file {self.token_file} is empty")])
            return SecretStr(value)
        return None


def http_settings(
    http: HttpSettings | None, source: YamlSource, base: Path
) -> tuple[HttpSettings | None, list[Problem]]:
    """``http`` knowing its lines (``token_file`` taken from the config's folder), or its problems:
    an address that cannot be used, both token keys, no token beyond loopback."""
    if http is None:
        return None, []
    try:
        address = parse_listen(http.listen)
    except ValueError as exc:
        return None, [source.problem(("http", "listen"), str(exc))]
    problems = []
    if http.token_env and http.token_file:
        problems.append(source.problem(("http",), "give `token_env` or `token_file`, not both"))
    elif not address.loopback and not http.has_token:
        problems.append(source.problem(("http", "listen"), beyond_loopback(address)))
    file = http.token_file
    located = http.model_copy(
        update={"token_file": file if file is None or file.is_absolute() else base / file}
    )
    located._line = source.line(("http", "listen"))
    key = "token_env" if http.token_env else "token_file"
    located._token_at = (source.file, source.line(("http", key)))
    return located, problems


def beyond_loopback(address: ListenAddress) -> str:
    """Why ``address`` is refused without a token, and what to write."""
    return (
        f"listening on {address} serves the report and the metrics beyond this machine: set "
        "http.token_env (or http.token_file) in the config to the token clients must send, "
        "or listen on 127.0.0.1"
    )


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class Guard:
    """Whether a request may have a path: those in ``protected`` need the token."""

    def __init__(self, token: SecretStr, protected: frozenset[str] = PROTECTED) -> None:
        self._expected = _digest(token.get_secret_value().encode())
        self.protected = protected

    def __repr__(self) -> str:
        return f"Guard(protected={sorted(self.protected)})"

    def allows(self, path: str, headers: Mapping[str, str]) -> bool:
        """``headers``: names in lower case. Digests of equal length, compared in constant time."""
        if path not in self.protected:
            return True
        given = _presented(headers.get("authorization", ""))
        return hmac.compare_digest(_digest(given), self._expected) and bool(given)


def _presented(header: str) -> bytes:
    """The token an ``Authorization`` header carries: a bearer token, or basic auth's password."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip().encode()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return b""
        return decoded.partition(b":")[2]
    return b""
