"""Validation of ``mappings/hubspot.yaml``: every problem at once, as ``FILE:LINE: what``.

Unknown keys get a "did you mean"; canonical fields, stages and activity types must exist;
two stages may not be held the same way (they would not read back apart); regular expressions
must compile. The contact fields, custom properties and activity types are checked by the mapping
kit's ``FieldChecker``, as Salesforce's and Zoho's are; the lifecycle and the activities here.
``load_mapping`` is the entry point.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from leadsync.api import STAGES, ConfigError, Path_, did_you_mean
from leadsync.api.mappingkit import FieldChecker, mapping_source

from .mapping import (
    HISTORY,
    ActivityMap,
    ConversionRule,
    FieldMap,
    HubSpotMapping,
    StageMap,
    default_mapping_path,
)

__all__ = ["load_mapping"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def load_mapping(path: str | Path | None = None) -> HubSpotMapping:
    """Read and validate a HubSpot mapping file (the packaged one when ``path`` is None)."""
    return _Validator(mapping_source(path, default_mapping_path())).run()


class _Validator(FieldChecker[FieldMap]):
    """Walks the loaded YAML once, collecting every problem with its line."""

    crm = "HubSpot"
    field_type = FieldMap
    field_key = "property"
    field_what = "the HubSpot property name"
    field_noun = "HubSpot properties"
    field_keys = ("multiple",)
    canonical_section = "contact"

    def api_name(self, path: Path_, value: Any, *, writable: bool = False) -> str | None:
        if isinstance(value, str) and _NAME.match(value):
            return value
        self.fail(path, f"`{value}` is not a HubSpot property name (lower case, digits and `_`)")
        return None

    def field_extra(self, path: Path_, spec: dict[str, Any]) -> dict[str, Any]:
        multiple = spec.get("multiple", False)
        if not isinstance(multiple, bool):
            self.fail((*path, "multiple"), "`multiple` is true or false")
            multiple = False
        return {"multiple": multiple}

    def run(self) -> HubSpotMapping:
        data = self.src.data
        if not isinstance(data, dict):
            raise ConfigError([self.src.problem((), "the mapping file must be a YAML mapping")])
        top = ("version", "contact", "properties", "lifecycle", "activities")
        self.keys((), data, top, "the file")
        if data.get("version") != 1:
            self.fail(("version",), "`version: 1` is required (the only mapping version so far)")
        acts = data.get("activities") or {}
        self.take_custom_types(acts)
        fields = self.fields(("contact",), data.get("contact"), contact=True)
        props = self.fields(("properties",), data.get("properties"), contact=False)
        stages, also, unknown, lcs_prop, ls_prop = self.lifecycle(("lifecycle",), data.get("lifecycle"))
        activities = self.activities(("activities",), acts)
        if self.problems:
            raise ConfigError(self.problems)
        return HubSpotMapping(
            self.src.file, fields, props, stages, also, unknown, activities, lcs_prop, ls_prop
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    def lifecycle(
        self, path: Path_, value: Any
    ) -> tuple[dict[str, StageMap], dict[str, str], str | None, str, str]:
        keys = ("property", "lead_status_property", "stages", "also_read", "unknown_stage")
        spec = self.keys(path, value, keys, "lifecycle")
        lcs_prop = self.api_name((*path, "property"), spec.get("property", "lifecyclestage")) or ""
        ls_prop = self.api_name(
            (*path, "lead_status_property"), spec.get("lead_status_property", "hs_lead_status")
        )
        stages: dict[str, StageMap] = {}
        raw = spec.get("stages")
        if not isinstance(raw, dict):
            self.fail((*path, "stages"), "`lifecycle.stages` must map every stage to a lifecycle stage")
            raw = {}
        for name, st in raw.items():
            at = (*path, "stages", name)
            if name not in STAGES:
                self.fail(at, f"unknown stage `{name}`{did_you_mean(name, STAGES)}")
                continue
            sm = self.stage_map(at, name, st)
            if sm:
                stages[name] = sm
        for name in STAGES:
            if name not in raw:
                self.fail((*path, "stages"), f"stage `{name}` is not mapped")
        self.check_unambiguous((*path, "stages"), stages)
        also = self.also_read((*path, "also_read"), spec.get("also_read"), stages)
        unknown = spec.get("unknown_stage", "opportunity")
        if unknown is not None and unknown not in STAGES:
            self.fail(
                (*path, "unknown_stage"), f"unknown stage `{unknown}`{did_you_mean(str(unknown), STAGES)}"
            )
            unknown = None
        return stages, also, unknown, lcs_prop, ls_prop or "hs_lead_status"

    def stage_map(self, path: Path_, name: str, spec: Any) -> StageMap | None:
        spec = self.keys(path, spec, ("lifecyclestage", "lead_status", "changed_at"), name)
        lcs = spec.get("lifecyclestage")
        if not isinstance(lcs, str) or not lcs:
            self.fail(path, f"stage `{name}` needs `lifecyclestage:` (an internal value such as `lead`)")
            return None
        status = spec.get("lead_status")
        if status is not None and (not isinstance(status, str) or not status):
            self.fail((*path, "lead_status"), "`lead_status` is an internal value such as `BAD_TIMING`")
            status = None
        changed = spec.get("changed_at")
        if changed is not None and changed != HISTORY:
            changed = self.api_name((*path, "changed_at"), changed)
        return StageMap(name, lcs, status, changed)

    def check_unambiguous(self, path: Path_, stages: dict[str, StageMap]) -> None:
        pairs: dict[tuple[str, str | None], str] = {}
        for s in stages.values():
            key = (s.lifecyclestage, s.lead_status)
            if key in pairs:
                self.fail(
                    (*path, s.stage),
                    f"stages `{pairs[key]}` and `{s.stage}` are held the same way; "
                    "give one of them a different `lead_status` so they read back apart",
                )
            pairs[key] = s.stage

    def also_read(self, path: Path_, value: Any, stages: dict[str, StageMap]) -> dict[str, str]:
        out: dict[str, str] = {}
        if value is None:
            return out
        if not isinstance(value, dict):
            self.fail(path, "`also_read` maps extra lifecycle stage values to stages")
            return out
        used = {s.lifecyclestage for s in stages.values()}
        for lcs, stage in value.items():
            if lcs in used:
                self.fail((*path, lcs), f"`{lcs}` is already a stage's `lifecyclestage`")
            elif stage not in STAGES:
                self.fail((*path, lcs), f"unknown stage `{stage}`{did_you_mean(str(stage), STAGES)}")
            else:
                out[str(lcs)] = str(stage)
        return out

    # -- activities --------------------------------------------------------------------------------

    def activities(self, path: Path_, value: Any) -> ActivityMap:
        keys = (
            "calls",
            "emails",
            "meetings",
            "notes",
            "tasks",
            "last_page_seen",
            "conversions",
            "custom_types",
        )
        spec = self.keys(path, value, keys, "activities")
        kw: dict[str, Any] = {}
        calls = self.keys((*path, "calls"), spec.get("calls"), ("type", "outcomes"), "calls")
        kw["call"] = self.activity_type((*path, "calls", "type"), calls.get("type", "call"))
        outcomes = calls.get("outcomes") or {}
        if not isinstance(outcomes, dict) or not all(isinstance(v, str) and v for v in outcomes.values()):
            self.fail((*path, "calls", "outcomes"), "`outcomes` maps disposition ids to outcome names")
            outcomes = {}
        kw["call_outcomes"] = {str(k): str(v) for k, v in outcomes.items()}
        emails = self.keys(
            (*path, "emails"), spec.get("emails"), ("outgoing", "incoming", "bounced"), "emails"
        )
        for key in ("outgoing", "incoming", "bounced"):
            default = getattr(ActivityMap, f"email_{key}")
            kw[f"email_{key}"] = self.activity_type((*path, "emails", key), emails.get(key, default))
        mkeys = ("type", "outcomes", "booked", "booked_sources")
        meetings = self.keys((*path, "meetings"), spec.get("meetings"), mkeys, "meetings")
        kw["meeting"] = self.activity_type((*path, "meetings", "type"), meetings.get("type", "meeting"))
        kw["meeting_outcomes"] = self.words(
            (*path, "meetings", "outcomes"), meetings.get("outcomes", ["COMPLETED"])
        )
        kw["meeting_booked"] = self.activity_type((*path, "meetings", "booked"), meetings.get("booked"))
        kw["booked_sources"] = self.words(
            (*path, "meetings", "booked_sources"), meetings.get("booked_sources", [])
        )
        kw["note"] = self.activity_type((*path, "notes"), spec.get("notes"))
        tasks = self.keys((*path, "tasks"), spec.get("tasks"), ("type", "statuses"), "tasks")
        kw["task"] = self.activity_type((*path, "tasks", "type"), tasks.get("type"))
        kw["task_statuses"] = self.words((*path, "tasks", "statuses"), tasks.get("statuses", ["COMPLETED"]))
        kw["page_view"] = self.activity_type(
            (*path, "last_page_seen"), spec.get("last_page_seen", "page_view")
        )
        conv = self.keys((*path, "conversions"), spec.get("conversions"), ("type", "rules"), "conversions")
        kw["conversion"] = self.activity_type(
            (*path, "conversions", "type"), conv.get("type", "form_submission")
        )
        kw["conversion_rules"] = self.conversion_rules((*path, "conversions", "rules"), conv.get("rules"))
        return ActivityMap(**kw)

    def words(self, path: Path_, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(path, "expected a list of HubSpot values, e.g. [COMPLETED]")
            return ()
        return tuple(value)

    def conversion_rules(self, path: Path_, value: Any) -> tuple[ConversionRule, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(path, "`rules` is a list of {name_matches, type, properties}")
            return ()
        out = []
        for i, rule in enumerate(value):
            at = (*path, i)
            spec = self.keys(at, rule, ("name_matches", "type", "properties"), "conversion rule")
            try:
                pattern = re.compile(str(spec.get("name_matches", "")))
            except re.error as exc:
                self.fail((*at, "name_matches"), f"bad regular expression: {exc}")
                continue
            if not spec.get("name_matches"):
                self.fail(at, "a conversion rule needs `name_matches` (a regular expression)")
            kind = self.activity_type((*at, "type"), spec.get("type"))
            props = spec.get("properties") or {}
            if not isinstance(props, dict):
                self.fail((*at, "properties"), "`properties` maps activity property names to values")
                props = {}
            if kind:
                out.append(ConversionRule(pattern, kind, dict(props)))
        return tuple(out)
