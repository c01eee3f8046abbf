"""The mapping of ``mappings/hubspot.yaml``: canonical fields and values ⇄ HubSpot properties.

These are the validated, typed values; ``mapping_check.load_mapping`` reads and checks the file.
The field maps are the mapping kit's (``leadsync.api.mappingkit``), as Salesforce's and Zoho's
are; the stage is HubSpot's own: a lifecycle stage, maybe with a lead status. The file's own
comments explain each choice to a RevOps admin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadsync.api import mappingkit
from leadsync.api.mappingkit import CONTACT_FIELDS, REQUIRED_FIELDS, packaged_path

__all__ = [
    "CONTACT_FIELDS",
    "HISTORY",
    "REQUIRED_FIELDS",
    "ActivityMap",
    "ConversionRule",
    "FieldMap",
    "HubSpotMapping",
    "StageMap",
    "default_mapping_path",
]

HISTORY = "history"


def default_mapping_path() -> Path:
    """The packaged ``mappings/hubspot.yaml``."""
    return packaged_path("hubspot.yaml")


@dataclass(frozen=True)
class FieldMap(mappingkit.FieldMap):
    """One canonical field held in one HubSpot property (``field``); ``values`` maps HubSpot →
    canonical. HubSpot sends every value as text; a multi-select (``multiple``) as ``A;B``."""

    multiple: bool = False

    def read(self, raw: Any) -> Any:
        """The canonical value of a HubSpot property value (None for unset or empty)."""
        if raw is None or raw == "":
            return None
        text = str(raw)
        if self.multiple:
            return [self.values.get(part, part) for part in text.split(";") if part]
        return self.values.get(text, text)

    def write(self, value: Any) -> str:
        """The HubSpot value for a canonical value (``""`` clears the property)."""
        if value is None:
            return ""
        reverse = {str(v): k for k, v in self.values.items()}
        if self.multiple and isinstance(value, list | tuple):
            return ";".join(reverse.get(str(v), str(v)) for v in value)
        return reverse.get(str(value), str(value))


@dataclass(frozen=True)
class StageMap:
    """How one canonical stage is held: a lifecycle stage, maybe with a lead status."""

    stage: str
    lifecyclestage: str
    lead_status: str | None = None
    changed_at: str | None = None  # a date property, or "history" (when either value last changed)


@dataclass(frozen=True)
class ConversionRule:
    """A form conversion whose name matches ``pattern`` becomes activity ``type``."""

    pattern: re.Pattern[str]
    type: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityMap:
    """Which HubSpot engagements and contact properties become which canonical activities."""

    call: str | None = "call"
    call_outcomes: dict[str, str] = field(default_factory=dict)
    email_outgoing: str | None = "email_sent"
    email_incoming: str | None = "email_reply"
    email_bounced: str | None = "email_bounce"
    meeting: str | None = "meeting"
    meeting_outcomes: tuple[str, ...] = ("COMPLETED",)
    meeting_booked: str | None = None
    booked_sources: tuple[str, ...] = ()
    note: str | None = None
    task: str | None = None
    task_statuses: tuple[str, ...] = ("COMPLETED",)
    page_view: str | None = "page_view"
    conversion: str | None = "form_submission"
    conversion_rules: tuple[ConversionRule, ...] = ()

    def conversion_for(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """The activity type and extra properties for a conversion called ``name``."""
        for rule in self.conversion_rules:
            if rule.pattern.search(name):
                return rule.type, dict(rule.properties)
        return (self.conversion, {}) if self.conversion else None


@dataclass(frozen=True)
class HubSpotMapping:
    """The validated mapping file."""

    file: str
    fields: dict[str, FieldMap]
    properties: dict[str, FieldMap]
    stages: dict[str, StageMap]
    also_read: dict[str, str]
    unknown_stage: str | None
    activities: ActivityMap
    lifecycle_property: str = "lifecyclestage"
    lead_status_property: str = "hs_lead_status"

    def stage_of(self, lifecyclestage: str | None, lead_status: str | None) -> str | None:
        """The canonical stage of a (lifecycle stage, lead status) pair; None when unset."""
        if not lifecyclestage:
            return None
        with_status = [s for s in self.stages.values() if s.lead_status]
        for s in with_status:
            if s.lifecyclestage == lifecyclestage and s.lead_status == lead_status:
                return s.stage
        for s in self.stages.values():
            if not s.lead_status and s.lifecyclestage == lifecyclestage:
                return s.stage
        for s in with_status:  # a lifecycle stage no other canonical stage uses
            if s.lifecyclestage == lifecyclestage:
                return s.stage
        if lifecyclestage in self.also_read:
            return self.also_read[lifecyclestage]
        return self.unknown_stage

    def read_stage(self, get: Callable[[str], Any]) -> str | None:
        """The canonical stage of a record, ``get`` giving a property's raw value."""
        return self.stage_of(get(self.lifecycle_property), get(self.lead_status_property) or None)

    def contact_properties(self) -> list[str]:
        """Every HubSpot contact property a read needs."""
        names = {self.lifecycle_property, self.lead_status_property, "lastmodifieddate", "createdate"}
        names |= {f.field for f in self.fields.values()} | {f.field for f in self.properties.values()}
        names |= {s.changed_at for s in self.stages.values() if s.changed_at and s.changed_at != HISTORY}
        return sorted(names)
