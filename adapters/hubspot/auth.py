"""The HubSpot token: a service key or legacy private-app token, only ever held as a SecretStr.

It comes from the connection's options (already a SecretStr when the daemon's settings loaded
it), a file (a mounted secret), or an environment variable, in that order. It is sent as
``Authorization: Bearer …`` and never logged or shown in a repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from leadsync.api import ConfigError, Problem

__all__ = ["DEFAULT_ENV", "token_from_env", "token_from_file", "token_from_options"]

DEFAULT_ENV = "HUBSPOT_TOKEN"


def token_from_env(name: str = DEFAULT_ENV, environ: Mapping[str, str] | None = None) -> SecretStr | None:
    """The token in environment variable ``name``, or None when it is unset or blank."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return SecretStr(value) if value else None


def token_from_file(path: str | Path) -> SecretStr:
    """The token stored in ``path`` (surrounding whitespace dropped)."""
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            [Problem(str(path), 0, f"cannot read the HubSpot token file: {exc.strerror}")]
        ) from None
    if not value:
        raise ConfigError([Problem(str(path), 1, "the HubSpot token file is empty")])
    return SecretStr(value)


def token_from_options(options: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> SecretStr:
    """``token`` (str or SecretStr), else ``token_file``, else env ``token_env`` (default HUBSPOT_TOKEN)."""
    raw = options.get("token")
    if isinstance(raw, SecretStr) and raw.get_secret_value().strip():
        return SecretStr(raw.get_secret_value().strip())
    if isinstance(raw, str) and raw.strip():
        return SecretStr(raw.strip())
    if raw is not None and not isinstance(raw, str | SecretStr):
        raise ConfigError([Problem("hubspot options", 0, "`token` must be text")])
    if options.get("token_file"):
        return token_from_file(str(options["token_file"]))
    env = str(options.get("token_env") or DEFAULT_ENV)
    token = token_from_env(env, environ)
    if token is None:
        raise ConfigError(
            [
                Problem(
                    "hubspot options",
                    0,
                    f"no HubSpot token: set `token` or `token_file`, or the environment variable {env} "
                    "(a service key or private-app token, `pat-…`)",
                )
            ]
        )
    return token
