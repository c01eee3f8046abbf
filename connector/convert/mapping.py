"""The column mapping of ``leadsync convert``: a YAML file, validated like a rules file.

A value is read from one column of the row (``"Lead Source"`` or ``{column: "Lead Source"}``), or
is a constant (``{value: ebook}``); ``map`` turns raw text into canonical values (a value missing
from ``map`` is kept as it is, or becomes ``other`` when that is set); ``type`` parses what is
left. A column of a joined file is named ``JOIN.COLUMN``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leadsync.errors import ConfigError, Problem
from leadsync.model import CONTACT_TEXT_FIELDS, CONTACT_TIME_FIELDS
from leadsync.rules.loader import _shape_problem
from leadsync.rules.yamlsource import YamlSource, load_yaml

__all__ = ["CONTACT_FIELD_TYPES", "ActivitySpec", "Mapping", "Value", "load_mapping"]

Scalar = str | int | float | bool | None

# Canonical contact fields a mapping may fill, with the type each takes.
CONTACT_FIELD_TYPES: dict[str, str] = {
    **{name: "text" for name in CONTACT_TEXT_FIELDS},
    **{name: "timestamp" for name in CONTACT_TIME_FIELDS},
    "created_at": "timestamp",
    "employees": "integer",
    "score": "number",
    "stage": "text",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Value(_Strict):
    """Where one output value comes from."""

    column: str | None = None
    value: Scalar = None
    map: dict[str, Scalar] | None = None
    other: Scalar = None
    type: Literal["text", "integer", "number", "boolean", "timestamp"] | None = None
    format: str | None = None  # strptime format of a timestamp (default: ISO 8601)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> Value:
        if (self.column is None) == (self.value is None):
            raise ValueError("give exactly one of `column` (read from the row) or `value` (a constant)")
        return self


class ContactSpec(_Strict):
    fields: dict[str, Value]
    properties: dict[str, Value] = Field(default_factory=dict)


class ActivitySpec(_Strict):
    name: str = Field(min_length=1)
    type: str | Value
    at: Value
    when: Value | None = None  # the activity exists when this value is present and not false
    id: Value | None = None
    owner_id: Value | None = None
    properties: dict[str, Value] = Field(default_factory=dict)


class OutcomeSpec(_Strict):
    outcome: Value  # must give `won` or `lost`; empty: no outcome for this row
    at: Value


class JoinSpec(_Strict):
    name: str = Field(min_length=1)
    file: str  # relative to the main CSV's folder
    key: str  # the joined file's column
    by: str  # the main file's column


class Mapping(_Strict):
    version: Literal[1]
    timezone: str
    missing: list[str] = Field(default_factory=lambda: [""])
    contact_id: Value
    join: list[JoinSpec] = Field(default_factory=list)
    contact: ContactSpec | None = None
    activities: list[ActivitySpec] = Field(default_factory=list)
    outcome: OutcomeSpec | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_mapping(path: Path) -> tuple[Mapping, YamlSource]:
    """The mapping of ``path``; ``ConfigError`` with FILE:LINE for every problem in it."""
    source = load_yaml(path)
    if not isinstance(source.data, dict):
        raise ConfigError([Problem(source.file, 1, "the mapping must be a mapping (key: value)")])
    try:
        mapping = Mapping.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError([_shape_problem(source, err) for err in exc.errors()]) from None
    problems: list[Problem] = []
    try:
        mapping.zone  # noqa: B018 - validates the zone's name
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            source.problem(("timezone",), f"unknown time zone `{mapping.timezone}`; e.g. Europe/Madrid")
        )
    if mapping.contact is not None:
        if "created_at" not in mapping.contact.fields:
            problems.append(
                source.problem(("contact", "fields"), "`created_at` is required: a contact needs it")
            )
        for name in mapping.contact.fields:
            if name not in CONTACT_FIELD_TYPES:
                known = ", ".join(sorted(CONTACT_FIELD_TYPES))
                message = f"`{name}` is not a canonical contact field ({known}); put it under `properties`"
                problems.append(source.problem(("contact", "fields", name), message))
    names = [a.name for a in mapping.activities]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(
                source.problem(("activities", index, "name"), f"activity name `{name}` appears twice")
            )
    if mapping.contact is None and not mapping.activities and mapping.outcome is None:
        problems.append(
            source.problem((), "the mapping makes nothing: add `contact`, `activities` or `outcome`")
        )
    if problems:
        raise ConfigError(problems)
    return mapping, source
