"""The mapping of ``mappings/zoho.yaml``: canonical fields and values ⇄ Zoho CRM fields.

``load_mapping`` reads the file and checks its shape and meaning, every problem as FILE:LINE;
whether the fields and picklist values exist in an org is ``leadsync check``'s job (``provisioning``).
Zoho's list calls take at most 50 field API names (``fields``), so a module whose mapping needs
more is refused here rather than split into several reads of one page.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadsync.api import ConfigError, Path_, mappingkit
from leadsync.api.mappingkit import CONTACT_FIELDS, MappingChecker, mapping_source, packaged_path

__all__ = [
    "CONTACT_FIELDS",
    "MAX_FIELDS",
    "MODULES",
    "ActivityMap",
    "FieldMap",
    "ModuleMap",
    "StageMap",
    "ZohoMapping",
    "load_mapping",
]

MODULES = ("Leads", "Contacts")
MAX_FIELDS = 50  # Zoho's limit on `fields` per list call
ALWAYS = ("Modified_Time", "Created_Time")  # Zoho sends `id` always and refuses it in `fields`
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class FieldMap(mappingkit.FieldMap):
    """One canonical field held in one Zoho field; ``values`` maps Zoho → canonical.

    A lookup arrives as ``{"name": …, "id": …}`` (the owner is read by id, others by name) and is
    written as ``{"id": …}``; an empty picklist reads ``-None-``.
    """

    blanks = ("", "-None-")

    def read(self, raw: Any) -> Any:
        if isinstance(raw, dict):  # a lookup: {"name": …, "id": …}
            raw = raw.get("id") if self.name == "owner_id" else raw.get("name")
        return super().read(raw)

    def write(self, value: Any) -> Any:
        """The Zoho value for a canonical value (None clears the field)."""
        if self.name == "owner_id" and value is not None and value != "":
            return {"id": str(value)}
        return super().write(value)


class StageMap(mappingkit.StageMap):
    """Which picklist value of ``field`` holds each canonical stage (``-None-`` is no value)."""

    blanks = ("", "-None-")


@dataclass(frozen=True)
class ModuleMap(mappingkit.ContactMap[FieldMap, StageMap]):
    """How one module (Leads or Contacts) holds a canonical contact."""

    def select(self) -> list[str]:
        """Every field a read of this module needs, for the ``fields`` parameter."""
        names = set(ALWAYS) | self.mapped()
        if self.name == "Leads":
            names |= {"Converted__s", "Converted_Date_Time"}
        return sorted(names)


@dataclass(frozen=True)
class ActivityMap:
    """Which Calls, Events, Tasks and Notes become which canonical activities."""

    call: str | None = "call"
    call_types: tuple[str, ...] = ("Outbound", "Inbound")
    call_outcomes: dict[str, str] = dataclasses.field(default_factory=dict)  # lower-cased Call_Result
    meeting: str | None = "meeting"
    task: str | None = None
    task_statuses: tuple[str, ...] = ("Completed",)
    note: str | None = None

    def modules(self) -> list[str]:
        """The activity modules read (Tasks always: leadsync's own tasks live there)."""
        out = ["Calls"] if self.call else []
        out += ["Events"] if self.meeting else []
        out += ["Tasks"] if self.task else []
        return out + (["Notes"] if self.note else [])


@dataclass(frozen=True)
class ZohoMapping:
    """The validated mapping file."""

    file: str
    modules: dict[str, ModuleMap]
    activities: ActivityMap
    custom_types: tuple[str, ...] = ()
    # Users whose people count as not yet assigned (emails or ids, or `integration_user`).
    holding_owners: tuple[str, ...] = ()


def default_mapping_path() -> Path:
    return packaged_path("zoho.yaml")


def load_mapping(path: str | Path | None = None) -> ZohoMapping:
    """Read and validate a Zoho mapping file (the packaged one when ``path`` is None)."""
    return _Validator(mapping_source(path, default_mapping_path())).run()


class _Validator(MappingChecker[FieldMap, StageMap]):
    crm = "Zoho"
    field_type = FieldMap
    stage_type = StageMap

    def api_name(self, path: Path_, value: Any, *, writable: bool = False) -> str | None:
        if not isinstance(value, str) or not _API_NAME.match(value):
            self.fail(path, f"`{value}` is not a Zoho field API name (e.g. Designation, Leadsync_Score)")
            return None
        return value

    def run(self) -> ZohoMapping:
        data, acts, modules = self.sections("modules", MODULES, self.module)
        activities = self.activities(("activities",), acts)
        owners = self.keys(("owners",), data.get("owners"), ("holding",), "owners")
        holding = self.strings(("owners", "holding"), owners, "holding", ())
        if self.problems:
            raise ConfigError(self.problems)
        return ZohoMapping(self.src.file, modules, activities, self.custom_types(), holding)

    def module(self, path: Path_, name: str, value: Any) -> ModuleMap | None:
        parts = self.contact_map(path, name, value)
        if parts is None:
            return None
        module = ModuleMap(name, *parts)
        if len(module.select()) > MAX_FIELDS:
            self.fail(
                (*path, "properties") if parts[1] else (*path, "fields"),
                f"{name} needs {len(module.select())} fields and Zoho reads at most {MAX_FIELDS} a "
                "call: map fewer properties",
            )
        return module

    def activities(self, path: Path_, value: Any) -> ActivityMap:
        allowed = ("custom_types", "calls", "meetings", "tasks", "notes")
        spec = self.keys(path, value, allowed, "activities")
        calls = self.keys((*path, "calls"), spec.get("calls"), ("type", "call_types", "outcomes"), "calls")
        meetings = self.keys((*path, "meetings"), spec.get("meetings"), ("type",), "meetings")
        tasks = self.keys((*path, "tasks"), spec.get("tasks"), ("type", "statuses"), "tasks")
        notes = self.keys((*path, "notes"), spec.get("notes"), ("type",), "notes")
        outcomes = calls.get("outcomes") or {}
        if not isinstance(outcomes, dict):
            self.fail((*path, "calls", "outcomes"), "`outcomes` must map Call_Result values to outcomes")
            outcomes = {}
        defaults = ActivityMap()
        return ActivityMap(
            call=self.activity_type((*path, "calls", "type"), calls.get("type", "call")),
            call_types=self.strings((*path, "calls", "call_types"), calls, "call_types", defaults.call_types),
            call_outcomes={str(k).lower(): str(v) for k, v in outcomes.items()},
            meeting=self.activity_type((*path, "meetings", "type"), meetings.get("type", "meeting")),
            task=self.activity_type((*path, "tasks", "type"), tasks.get("type")),
            task_statuses=self.strings(
                (*path, "tasks", "statuses"), tasks, "statuses", defaults.task_statuses
            ),
            note=self.activity_type((*path, "notes", "type"), notes.get("type")),
        )
