"""The daemon's configuration file (YAML): where state lives and which CRMs to sync, how often.

    state: sqlite:///state.db                # or postgresql://user@host:5432/db
    # or: state: {url: sqlite:///state.db, history_days: 400}  (the decision history's retention)
    log: {level: info, format: json}         # format: json (services) or console (a terminal)
    http: {listen: 127.0.0.1:9464}           # `leadsync run` serves /metrics, /livez, /readyz, /report
                                             # (beyond loopback also token_env: or token_file:)
    lease_ttl: 30s                           # PostgreSQL state: a replica's lease on a connection
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError

from leadsync.api import OptionSource
from leadsync.errors import ConfigError, InputError, Problem
from leadsync.logging import scrub
from leadsync.notify.config import NotificationSettings, error_location, notification_problems
from leadsync.observe.access import HttpSettings, http_settings
from leadsync.registry import adapter_factory
from leadsync.rules.conditions import did_you_mean
from leadsync.rules.loader import allowed_keys
from leadsync.rules.yamlsource import Path_, YamlSource, load_yaml
from leadsync.sync.history import HISTORY_DAYS
from leadsync.sync.loop import DECIDE_BATCH

__all__ = [
    "ConfigLines",
    "Connection",
    "HttpSettings",
    "LogSettings",
    "Settings",
    "StateSettings",
    "load_settings",
]


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


@dataclass(frozen=True)
class ConfigLines:
    """Where one connection sits in the config file.

    Kept after loading because the adapter validates its options only when it is built, and its
    problems must still point at the line a person has to fix: each option's own (``keys``, by
    path inside ``options:``), else the ``options:`` key's.
    """

    file: str
    adapter: int
    options: int  # the `options:` key, or the connection's line when it has none
    token: int = 0  # the `token_env:` or `token_file:` key, or the connection's line
    keys: Mapping[Path_, int] = field(default_factory=dict)

    @classmethod
    def of(cls, source: YamlSource, index: int) -> ConfigLines:
        at = ("connections", index)
        token = next((k for k in ("token_env", "token_file") if (*at, k) in source.lines), "token_env")
        inside = (*at, "options")
        keys = {path[3:]: line for path, line in source.lines.items() if path[:3] == inside and path[3:]}
        return cls(
            source.file,
            source.line((*at, "adapter")),
            source.line(inside),
            source.line((*at, token)),
            keys,
        )


# Option keys whose values are secrets even when given as plain text (``*_file``/``*_env`` name
# where a secret is, and are shown).
_SECRET_OPTION = re.compile(r"token|secret|password|passwd|api_?key|credential", re.IGNORECASE)


class LogSettings(_Model):
    """``log:``. ``progress_every``: how often a run logs ``run_progress`` (and once at its end)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "console"] = "json"
    progress_every: str = "30s"

    @property
    def progress_seconds(self) -> float:
        return interval_seconds(self.progress_every)


class StateSettings(_Model):
    """``state:`` written as a mapping: ``url`` (what ``state: URL`` says alone) and
    ``history_days``, how long the decision history keeps a change (``leadsync history``)."""

    url: str = "sqlite:///state.db"
    history_days: int = Field(default=HISTORY_DAYS, ge=1, le=36_500)


def _state_section(data: dict[str, Any], source: YamlSource) -> tuple[dict[str, Any], int, list[Problem]]:
    """The config's data with ``state:`` as its URL, the history's retention, and the problems of
    a ``state:`` mapping (each at its line)."""
    section = data.get("state")
    if not isinstance(section, dict):
        return data, HISTORY_DAYS, []
    try:
        state = StateSettings.model_validate(section)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ("state", *(p for p in err["loc"] if isinstance(p, (str, int))))
            problems.append(source.problem(loc, _shape_message(loc, err, StateSettings, 1)))
        return {**data, "state": StateSettings().url}, HISTORY_DAYS, problems
    return {**data, "state": state.url}, state.history_days, []


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
    _lines: ConfigLines | None = PrivateAttr(default=None)

    def located(self, lines: ConfigLines) -> Connection:
        """This connection, remembering where it is in the config file (for ``make_adapter``)."""
        copy = self.model_copy()
        copy._lines = lines
        return copy

    @property
    def interval_seconds(self) -> float:
        return interval_seconds(self.every)

    def token(self) -> SecretStr | None:
        """The CRM credential, from the environment variable or the file named in the config."""
        if self.token_env:
            value = os.environ.get(self.token_env)
            if not value:
                text = f"the environment variable {self.token_env} is not set; export the CRM token in it"
                raise ConfigError([self._token_problem(text)])
            return SecretStr(value.strip())
        if self.token_file:
            try:
                return SecretStr(self.token_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                text = f"cannot read the token file {self.token_file}: {exc.strerror}"
                raise ConfigError([self._token_problem(text)]) from None
        return None

    def _token_problem(self, text: str) -> Problem:
        """At the config file's `token_env:`/`token_file:` line, once the connection knows it."""
        if self._lines is None:
            return Problem("config", 0, f"connection `{self.name}`: {text}")
        return Problem(self._lines.file, self._lines.token, f'connection "{self.name}": {text}')

    def adapter_options(self) -> dict[str, Any]:
        """What the adapter factory is called with: the options, plus the token if any.

        Loaded from a file, an ``OptionSource``: the options knowing their lines, the token the
        line of ``token_env``/``token_file``.
        """
        options = dict(self.options)
        token = self.token()
        if token is not None:
            options["token"] = token
        lines = self._lines
        if lines is None:
            return options
        keys = {**lines.keys, ("token",): lines.token} if token is not None else lines.keys
        return OptionSource(options, file=lines.file, lines=keys, default=lines.options)

    def make_adapter(self) -> Any:
        """Build this connection's adapter from its entry point, options and token.

        An adapter validates its own options, each problem at its option's line of the config
        file (``parse_options``, given the ``OptionSource``); those are raised again naming the
        connection, with any secret masked. One that reports ``hubspot options:0: ...`` instead
        (a third-party adapter's own checks) has its problems moved to this connection's
        ``adapter:`` or ``options:`` line. Problems at a real line of another file (a mapping
        file) are kept.
        """
        try:
            factory = adapter_factory(self.adapter)
        except InputError as error:
            raise self._located_error(error, "adapter", {}) from None
        options = self.adapter_options()
        try:
            return factory(options)
        except InputError as error:
            raise self._located_error(error, "options", options) from None

    def _located_error(self, error: InputError, key: str, options: Mapping[str, Any]) -> InputError:
        """``error`` with each problem moved to the config file's line for ``key``."""
        secrets = _secret_values(options)
        return type(error)([self._locate(p, key, secrets) for p in error.problems])

    def _locate(self, problem: Problem, key: str, secrets: list[str]) -> Problem:
        message = _masked(problem.message, secrets)
        lines = self._lines
        if lines is not None and problem.file == lines.file and problem.line > 0:
            return Problem(lines.file, problem.line, f'connection "{self.name}": {message}')
        real_file = _names_a_file(problem.file)
        if lines is None or (real_file and problem.line > 0):
            return Problem(problem.file, problem.line, message)
        if real_file:  # a key file that cannot be read: keep its name in the message
            message = f"{problem.file}: {message}"
        line = lines.adapter if key == "adapter" else lines.options
        return Problem(lines.file, line, f'connection "{self.name}": {message}')


def _names_a_file(where: str) -> bool:
    """Whether a problem's location is a path rather than a label like ``hubspot options``."""
    return "/" in where or os.sep in where or bool(PurePath(where).suffix)


def _secret_values(options: Mapping[str, Any]) -> list[str]:
    """The secret texts among the options: every SecretStr, and values of secret-named keys."""
    found = []
    for key, value in options.items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif not _SECRET_OPTION.search(str(key)) or str(key).endswith(("_file", "_env")):
            continue
        if isinstance(value, str) and len(value.strip()) >= 4:
            found.append(value.strip())
    return sorted(found, key=len, reverse=True)


def _masked(message: str, secrets: list[str]) -> str:
    """``message`` with the known secrets and anything that looks like a token replaced by ***."""
    for secret in secrets:
        message = message.replace(secret, "***")
    return str(scrub(None, "", {"message": message})["message"])


class Settings(_Model):
    state: str = "sqlite:///state.db"
    log: LogSettings = LogSettings()
    http: HttpSettings | None = None
    lease_ttl: str = "30s"
    connections: list[Connection] = Field(min_length=1)
    notifications: NotificationSettings | None = None  # leadsync.notify.config (issue 16)
    _state_at: tuple[str, int] = PrivateAttr(default=("config", 0))
    _history_days: int = PrivateAttr(default=HISTORY_DAYS)

    @property
    def history_days(self) -> int:
        """How many days the decision history keeps a change (``state: {history_days: N}``)."""
        return self._history_days

    @property
    def state_at(self) -> tuple[str, int]:
        """The config file and the line of its ``state:`` key (line 1 without one), where a state
        store that cannot be opened is reported."""
        return self._state_at

    @property
    def state_line(self) -> int:
        """The config file's line of ``state:`` (1 without one), for a state that cannot be used."""
        return self._state_at[1]

    @property
    def lease_ttl_seconds(self) -> float:
        return interval_seconds(self.lease_ttl)

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


# Adapter options that name files: like `rules` and `token_file`, a relative one is taken from the
# config file's folder, so the daemon finds them whatever its working directory (a service's is /).
PATH_OPTIONS = ("mapping", "private_key_file", "client_secret_file", "ca_file", "token_cache")


def _resolved_paths(options: Mapping[str, Any], base: Path) -> dict[str, Any]:
    out = dict(options)
    for key in PATH_OPTIONS:
        value = out.get(key)
        if isinstance(value, str) and value:
            path = Path(value).expanduser()
            out[key] = str(path if path.is_absolute() else base / path)
    return out


def load_settings(path: Path) -> Settings:
    """Read and validate the config file; relative paths are taken from its folder."""
    source = load_yaml(path)
    data = source.data
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem(str(path), 1, "the config file must be a mapping; see `leadsync run --help`")]
        )
    data, history_days, problems = _state_section(data, source)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc, own = error_location(tuple(p for p in err["loc"] if isinstance(p, (str, int))), err)
            problems.append(source.problem(loc, own or _shape_message(loc, err)))
    if problems:
        raise ConfigError(problems) from None
    base = path.resolve().parent
    problems = _repeated_names(settings, source)
    try:
        interval_seconds(settings.log.progress_every)
    except ValueError as exc:
        problems.append(source.problem(("log", "progress_every"), str(exc)))
    for i, c in enumerate(settings.connections):
        try:
            interval_seconds(c.every)
        except ValueError as exc:
            problems.append(source.problem(("connections", i, "every"), str(exc)))
        if c.token_env and c.token_file:
            problems.append(source.problem(("connections", i), "give `token_env` or `token_file`, not both"))
    try:
        interval_seconds(settings.lease_ttl)
    except ValueError as exc:
        problems.append(source.problem(("lease_ttl",), str(exc)))
    http, http_problems = http_settings(settings.http, source, base)
    problems += http_problems + notification_problems(settings.notifications, source)
    if problems:
        raise ConfigError(problems)
    resolved = [
        c.model_copy(
            update={
                "rules": c.rules if c.rules.is_absolute() else base / c.rules,
                "token_file": c.token_file
                if c.token_file is None or c.token_file.is_absolute()
                else base / c.token_file,
                "options": _resolved_paths(c.options, base),
            }
        ).located(ConfigLines.of(source, i))
        for i, c in enumerate(settings.connections)
    ]
    state = settings.state
    if state.startswith("sqlite:///") and not state.startswith("sqlite:////"):
        state = f"sqlite:///{base / state.removeprefix('sqlite:///')}"
    notifications = settings.notifications and settings.notifications.located(source, base)
    update = {"connections": resolved, "state": state, "http": http, "notifications": notifications}
    loaded = settings.model_copy(update=update)
    loaded._state_at = (
        source.file,
        source.line(("state", "url") if ("state", "url") in source.lines else ("state",)),
    )
    loaded._history_days = history_days
    return loaded


def _shape_message(loc: Path_, err: Any, root: type[BaseModel] = Settings, depth: int = 0) -> str:
    """A validation error's text; an unknown key says which keys its mapping takes (``root``: the
    model at ``loc[:depth]``)."""
    where = ".".join(str(p) for p in loc)
    if err["type"] != "extra_forbidden" or not loc:
        return f"`{where}`: {err['msg'].lower()}"
    key, parent = str(loc[-1]), ".".join(str(p) for p in loc[:-1])
    hint = did_you_mean(key, allowed_keys(loc[depth:-1], root))
    return f"unknown key `{key}` {f'in `{parent}`' if parent else 'at the top level'}{hint}"


def _repeated_names(settings: Settings, source: YamlSource) -> list[Problem]:
    """A connection name given twice: its state (cursors, written values) would be shared."""
    first: dict[str, int] = {}
    problems = []
    for i, c in enumerate(settings.connections):
        line = source.line(("connections", i, "name"))
        if c.name in first:
            text = f'connection name "{c.name}" is used twice (first at line {first[c.name]})'
            problems.append(Problem(source.file, line, text))
        else:
            first[c.name] = line
    return problems
