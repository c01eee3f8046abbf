"""The daemon's configuration file (YAML): where state lives and which CRMs to sync, how often.

    state: sqlite:///state.db                # or postgresql://user@host:5432/db
    log: {level: info, format: json}         # format: json (services) or console (a terminal)
    connections:
      - name: hubspot
        adapter: hubspot                      # an installed leadsync.adapters entry point
        rules: rules.yaml                     # relative paths: from this file's folder
        every: 5m
        batch_size: 200                       # contacts per write call to the adapter (1-10000)
        decide_batch: 1000                    # contacts with news decided together (1-10000)
        token_env: HUBSPOT_TOKEN              # or token_file: /run/secrets/hubspot
        options: {account_timezone: Europe/Madrid}

Secrets come only from the environment or a file, and are held as ``SecretStr`` so that they
never print.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from connector.errors import ConfigError, Problem
from connector.rules.conditions import did_you_mean
from connector.rules.yamlsource import load_yaml
from connector.sync.loop import DECIDE_BATCH

__all__ = ["Connection", "LogSettings", "Settings", "load_settings"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def interval_seconds(text: str) -> float:
    """``30s``, ``5m``, ``1h`` or ``1d`` in seconds; raise ValueError otherwise."""
    match = _INTERVAL.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"`{text}` is not an interval; write e.g. 30s, 5m or 1h")
    return float(int(match.group(1)) * _SECONDS[match.group(2)])


class LogSettings(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"


class Connection(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    adapter: str
    rules: Path
    every: str = "5m"
    batch_size: int = Field(default=200, ge=1, le=10_000)
    # Contacts with news decided (and their activities read) together, and committed with the
    # cursor in one transaction; more means fewer activity reads, a longer wait for the first write.
    decide_batch: int = Field(default=DECIDE_BATCH, ge=1, le=10_000)
    token_env: str | None = None
    token_file: Path | None = None
    options: dict[str, Any] = {}

    @property
    def interval_seconds(self) -> float:
        return interval_seconds(self.every)

    def token(self) -> SecretStr | None:
        """The CRM credential, from the environment variable or the file named in the config."""
        if self.token_env:
            value = os.environ.get(self.token_env)
            if not value:
                raise ConfigError(
                    [
                        Problem(
                            "config",
                            0,
                            f"connection `{self.name}`: the environment variable "
                            f"{self.token_env} is not set; export the CRM token in it",
                        )
                    ]
                )
            return SecretStr(value.strip())
        if self.token_file:
            try:
                return SecretStr(self.token_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigError(
                    [Problem(str(self.token_file), 0, f"cannot read the token file: {exc.strerror}")]
                ) from None
        return None

    def adapter_options(self) -> dict[str, Any]:
        """What the adapter factory is called with: the options, plus the token if any."""
        options = dict(self.options)
        token = self.token()
        if token is not None:
            options["token"] = token
        return options


class Settings(_Model):
    state: str = "sqlite:///state.db"
    log: LogSettings = LogSettings()
    connections: list[Connection] = Field(min_length=1)

    def connection(self, name: str | None) -> Connection:
        """The connection called ``name`` (or the only one)."""
        if name is None:
            if len(self.connections) == 1:
                return self.connections[0]
            names = ", ".join(c.name for c in self.connections)
            raise ConfigError(
                [Problem("config", 0, f"several connections ({names}); pick one with --connection")]
            )
        for c in self.connections:
            if c.name == name:
                return c
        known = [c.name for c in self.connections]
        raise ConfigError([Problem("config", 0, f"no connection `{name}`{did_you_mean(name, known)}")])


def load_settings(path: Path) -> Settings:
    """Read and validate the config file; relative paths are taken from its folder."""
    source = load_yaml(path)
    data = source.data
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem(str(path), 1, "the config file must be a mapping; see `leadsync run --help`")]
        )
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            where = ".".join(str(p) for p in loc)
            text = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].lower()
            problems.append(source.problem(loc, f"`{where}`: {text}"))
        raise ConfigError(problems) from None
    base = path.resolve().parent
    problems = []
    for i, c in enumerate(settings.connections):
        try:
            interval_seconds(c.every)
        except ValueError as exc:
            problems.append(source.problem(("connections", i, "every"), str(exc)))
        if c.token_env and c.token_file:
            problems.append(source.problem(("connections", i), "give `token_env` or `token_file`, not both"))
    if problems:
        raise ConfigError(problems)
    resolved = [
        c.model_copy(
            update={
                "rules": c.rules if c.rules.is_absolute() else base / c.rules,
                "token_file": None
                if c.token_file is None or c.token_file.is_absolute()
                else base / c.token_file,
            }
        )
        for c in settings.connections
    ]
    state = settings.state
    if state.startswith("sqlite:///") and not state.startswith("sqlite:////"):
        state = f"sqlite:///{base / state.removeprefix('sqlite:///')}"
    return settings.model_copy(update={"connections": resolved, "state": state})
