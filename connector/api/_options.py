"""Option declaration: an adapter's options as a pydantic model, every problem at its own line.

An adapter declares its options as a subclass of ``AdapterOptions`` (unknown keys refused, types
strict: ``batch_size: "5"`` is an error, not a 5; secrets as ``SecretStr``) and reads them with
``parse_options(Model, options, crm)``, which reports every problem at once as a ``ConfigError``:

- at the offending key's own ``FILE:LINE`` when the options come from the daemon's config file
  (the config loader hands the factory an ``OptionSource``, a dict that knows each key's line),
  and at the ``options:`` line for what is missing;
- at ``<crm> options:0`` for a plain mapping (tests, third-party harnesses), which the config
  loader, should it get one back, moves to the connection's ``options:`` line.

Unknown keys come with a did-you-mean; constrained numbers say their range; a validator's own
message is used as it is, so it should name the option (``"`auth` must be …"``).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from leadsync.api._clock import Clock, as_clock
from leadsync.errors import ConfigError, Problem
from leadsync.rules.conditions import did_you_mean
from leadsync.rules.yamlsource import Path_

__all__ = ["AdapterOptions", "ClockOption", "OptionSource", "option_problem", "parse_options"]

M = TypeVar("M", bound="AdapterOptions")

# The ``clock`` option: a Clock, or a callable giving "now" (see ``as_clock``).
ClockOption = Annotated[Clock, BeforeValidator(as_clock)]


class AdapterOptions(BaseModel):
    """Base of an adapter's options: unknown keys refused, strict types, frozen once read."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True)


class OptionSource(dict[str, Any]):
    """A connection's options as the config file gave them, remembering the line of each key.

    ``lines`` holds paths inside the options (``("batch_size",)``, ``("triggers", 2)``); a path
    without a line takes its nearest ancestor's, and an option not in the file (missing, or the
    token the loader adds) ``default``'s: the ``options:`` key, or the connection's own line.
    """

    def __init__(
        self, values: Mapping[str, Any], *, file: str, lines: Mapping[Path_, int], default: int
    ) -> None:
        super().__init__(values)
        self.file = file
        self.lines = dict(lines)
        self.default = default

    def line(self, path: Path_) -> int:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.default


def option_problem(options: Mapping[str, Any], crm: str, path: Path_, message: str) -> Problem:
    """A problem with the option at ``path``, where a person will find it (see the module docstring)."""
    if isinstance(options, OptionSource):
        return Problem(options.file, options.line(path), message)
    return Problem(f"{crm} options", 0, message)


def parse_options(model: type[M], options: Mapping[str, Any], crm: str) -> M:
    """``options`` read by ``model``; raise ``ConfigError`` with every problem (module docstring)."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        problems = [option_problem(options, crm, _where(err), _message(model, err)) for err in exc.errors()]
        raise ConfigError(problems) from None


def _where(err: ErrorDetails) -> Path_:
    return tuple(p for p in err["loc"] if isinstance(p, str | int))


def _message(model: type[AdapterOptions], err: ErrorDetails) -> str:
    """What is wrong, in words a person editing the config file understands."""
    loc = _where(err)
    key = str(loc[0]) if loc else ""
    kind = err["type"]
    field = model.model_fields.get(key)
    if kind == "extra_forbidden":
        return f"unknown option `{key}`{did_you_mean(key, list(model.model_fields))}"
    if kind in ("value_error", "assertion_error"):
        return str((err.get("ctx") or {}).get("error") or err["msg"])
    if kind == "missing":
        return f"`{key}` is required"
    if field is not None and len(loc) == 1:
        wanted = _wanted(field)
        if wanted:
            return f"`{key}` must be {wanted}, not {err['input']!r}"
    if kind == "is_instance_of":
        cls = (err.get("ctx") or {}).get("class", "the right kind of object")
        return f"`{key}` must be a {cls} (from leadsync.api), not {type(err['input']).__name__}"
    where = ".".join(str(p) for p in loc)
    return f"`{where}`: {err['msg'][0].lower()}{err['msg'][1:]}"


def _wanted(field: FieldInfo) -> str:
    """What a field takes, from its annotation and bounds ('' when that says nothing useful)."""
    union = typing.get_origin(field.annotation) in (typing.Union, types.UnionType)
    members = typing.get_args(field.annotation) if union else (field.annotation,)
    kinds = {t for t in members if t is not type(None)}
    literal = [v for t in kinds if typing.get_origin(t) is typing.Literal for v in typing.get_args(t)]
    if literal:
        return "one of " + ", ".join(str(v) for v in literal)
    bounds: dict[str, Any] = {}
    for item in field.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(item, getattr(annotated_types, name.capitalize())):
                bounds[name] = getattr(item, name)
    number = "a whole number" if kinds == {int} else "a number" if kinds & {int, float} else ""
    if not number:
        return {frozenset({str}): "text", frozenset({bool}): "true or false"}.get(frozenset(kinds), "")
    if "ge" in bounds and "le" in bounds:
        return f"{number} from {bounds['ge']} to {bounds['le']}"
    if bounds.get("gt") == 0:
        return f"a positive {number.removeprefix('a ')}"
    if "ge" in bounds:
        return f"{number} of at least {bounds['ge']}"
    return number
