"""What the mapping files share: field and stage maps, and their validation.

Every mapping file maps canonical contact fields to CRM fields (``fields``/``contact``,
``properties``) and activities to activity types; Salesforce's and Zoho's also map one picklist
to the canonical stages (``stage``), per object or module (Lead and Contact, Leads and Contacts).
``FieldMap`` and ``StageMap`` read and write the values; each CRM subclasses them only where its
wire format differs (HubSpot's multi-selects, Zoho's lookups). ``FieldChecker`` validates field
maps and activity types, every problem as FILE:LINE, with the CRM's name and words in its
messages; ``MappingChecker`` adds the per-object sections and stage maps Salesforce and Zoho
share. Each CRM's loader adds its own sections (owners, activities, HubSpot's lifecycle) and its
field-name syntax (``api_name``).
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from leadsync.api import (
    BUILTIN_ACTIVITY_TYPES,
    OPTIONAL_FIELDS,
    STAGES,
    WRITABLE_FIELDS,
    ConfigError,
    Path_,
    RulesError,
    YamlChecker,
    YamlSource,
    did_you_mean,
    load_yaml,
)

__all__ = [
    "CONTACT_FIELDS",
    "REQUIRED_FIELDS",
    "ContactMap",
    "FieldChecker",
    "FieldMap",
    "MappingChecker",
    "StageMap",
    "mapping_source",
    "packaged_path",
]

CONTACT_FIELDS = (
    "email", "first_name", "last_name", "title", "company", "industry", "country", "city", "domain",
    "lead_source", "employees", "created_at", "owner_id",
    *(w for w in WRITABLE_FIELDS if w not in ("stage", "owner_id")),
)  # fmt: skip
REQUIRED_FIELDS = (*(w for w in WRITABLE_FIELDS if w != "stage" and w not in OPTIONAL_FIELDS), "created_at")
STAGE_KEYS = ("field", "stages", "also_read", "unknown", "empty")


@dataclass(frozen=True)
class FieldMap:
    """One canonical field held in one CRM field; ``values`` maps CRM → canonical."""

    name: str
    field: str
    values: dict[str, Any] = dataclasses.field(default_factory=dict)

    blanks: ClassVar[tuple[str, ...]] = ("",)  # what the CRM sends, besides null, for "no value"

    @property
    def writable(self) -> bool:
        """Whether leadsync may write the field (Salesforce: not a parent record's)."""
        return True

    def read(self, raw: Any) -> Any:
        if raw is None or raw in self.blanks:
            return None
        if isinstance(raw, str):
            return self.values.get(raw, raw)
        return raw

    def write(self, value: Any) -> Any:
        """The CRM value for a canonical value (None clears the field)."""
        if value is None or value == "":
            return None
        reverse = {str(v): k for k, v in self.values.items()}
        return reverse.get(str(value), value)


@dataclass(frozen=True)
class StageMap:
    """Which picklist value of ``field`` holds each canonical stage."""

    field: str
    stages: dict[str, str]
    also_read: dict[str, str] = dataclasses.field(default_factory=dict)
    unknown: str | None = None
    empty: str | None = None

    blanks: ClassVar[tuple[str, ...]] = ("",)  # what the CRM sends, besides null, for "no value"

    def read(self, raw: Any) -> str | None:
        if raw is None or raw in self.blanks:
            return self.empty
        for stage, value in self.stages.items():
            if value == raw:
                return stage
        return self.also_read.get(str(raw), self.unknown)

    def write(self, stage: str) -> str | None:
        return self.stages.get(stage)


FieldT = TypeVar("FieldT", bound=FieldMap)
StageT = TypeVar("StageT", bound=StageMap)
SectionT = TypeVar("SectionT")


@dataclass(frozen=True)
class ContactMap(Generic[FieldT, StageT]):
    """How one object or module (a Lead, Contacts) holds a canonical contact."""

    name: str
    fields: dict[str, FieldT]
    properties: dict[str, FieldT]
    stage: StageT

    def read_stage(self, get: Callable[[str], Any]) -> str | None:
        """The canonical stage of a record, ``get`` giving a CRM field's raw value."""
        return self.stage.read(get(self.stage.field))

    def mapped(self) -> set[str]:
        """Every CRM field the mapping names for this object: stage, fields and properties."""
        names = {self.stage.field} | {f.field for f in self.fields.values()}
        return names | {f.field for f in self.properties.values()}

    def written_fields(self) -> dict[str, str]:
        """canonical writable field → CRM field (stage included)."""
        out = {n: f.field for n, f in self.fields.items() if n in WRITABLE_FIELDS}
        out["stage"] = self.stage.field
        return out


def packaged_path(name: str) -> Path:
    """Where the packaged ``mappings/<name>`` is."""
    return Path(str(files("leadsync.mappings").joinpath(name)))


def mapping_source(path: str | Path | None, default: Path) -> YamlSource:
    """The mapping file at ``path`` (``default`` when None), parsed; a YAML error is a ConfigError."""
    target = Path(path) if path is not None else default
    try:
        return load_yaml(target)
    except RulesError as exc:
        raise ConfigError(exc.problems) from None


class FieldChecker(YamlChecker, Generic[FieldT]):
    """Validates field maps and activity types; a CRM's loader subclasses it, naming its types.

    A field map is a CRM field's name, or ``{<field_key>: name, values: {CRM value: canonical}}``
    (plus the CRM's own ``field_keys``, read by ``field_extra``).
    """

    crm: ClassVar[str]  # in messages: "the Zoho field's API name"
    field_type: type[FieldT]
    field_key: ClassVar[str] = "field"
    field_what: ClassVar[str] = ""  # what `field_key` names; default "the <crm> field's API name"
    field_noun: ClassVar[str] = ""  # what canonical fields map to; default "<crm> fields"
    field_keys: ClassVar[tuple[str, ...]] = ()
    canonical_section: ClassVar[str] = "fields"  # where the canonical contact fields are mapped

    def __init__(self, source: YamlSource) -> None:
        super().__init__(source)
        self.types: set[str] = set(BUILTIN_ACTIVITY_TYPES)

    @abstractmethod
    def api_name(self, path: Path_, value: Any, *, writable: bool = False) -> str | None:
        """``value`` if it is a field name this CRM accepts (and can write), else a problem."""

    def take_custom_types(self, activities: Any) -> None:
        """The activity types ``activities.custom_types`` declares, known from here on."""
        custom = activities.get("custom_types") or [] if isinstance(activities, dict) else []
        self.types |= {t for t in custom if isinstance(t, str)}

    def custom_types(self) -> tuple[str, ...]:
        return tuple(sorted(self.types - BUILTIN_ACTIVITY_TYPES))

    # -- fields ---------------------------------------------------------------------------------

    def fields(self, path: Path_, value: Any, *, contact: bool) -> dict[str, FieldT]:
        out: dict[str, FieldT] = {}
        if not isinstance(value, dict):
            self.fail(
                path, f"`{path[-1]}` must map canonical names to {self.field_noun or f'{self.crm} fields'}"
            )
            return out
        for name, spec in value.items():
            at = (*path, name)
            if contact and name not in CONTACT_FIELDS:
                hint = did_you_mean(str(name), CONTACT_FIELDS) or "; custom fields go under `properties`"
                self.fail(at, f"unknown canonical contact field `{name}`{hint}")
                continue
            if not contact and name in CONTACT_FIELDS:
                self.fail(
                    at, f"`{name}` is a canonical contact field; map it under `{self.canonical_section}`"
                )
                continue
            fm = self.field_map(at, str(name), spec, writable=contact and name in WRITABLE_FIELDS)
            if fm:
                out[str(name)] = fm
        if contact:
            for name in REQUIRED_FIELDS:
                if name not in value:
                    self.fail(path, f"`{name}` must be mapped (leadsync reads or writes it)")
        return out

    def field_map(self, path: Path_, name: str, spec: Any, *, writable: bool) -> FieldT | None:
        if isinstance(spec, str):
            api = self.api_name(path, spec, writable=writable)
            return self.field_type(name, api) if api else None
        key = self.field_key
        spec = self.keys(path, spec, (key, "values", *self.field_keys), name)
        if key not in spec:
            what = self.field_what or f"the {self.crm} field's API name"
            self.fail(path, f"`{name}` needs `{key}:` ({what})")
            return None
        api = self.api_name((*path, key), spec[key], writable=writable)
        values = spec.get("values") or {}
        if not isinstance(values, dict):
            self.fail((*path, "values"), f"`values` must map {self.crm} values to canonical values")
            values = {}
        extra = self.field_extra(path, spec)
        return self.field_type(name, api, {str(k): v for k, v in values.items()}, **extra) if api else None

    def field_extra(self, path: Path_, spec: dict[str, Any]) -> dict[str, Any]:
        """The CRM's own ``FieldMap`` arguments, from its ``field_keys``."""
        return {}

    # -- activities -----------------------------------------------------------------------------

    def activity_type(self, path: Path_, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or value not in self.types:
            hint = did_you_mean(str(value), sorted(self.types))
            self.fail(path, f"unknown activity type `{value}`{hint}; declare it in `custom_types`")
            return None
        return str(value)

    def strings(
        self, path: Path_, spec: dict[str, Any], key: str, default: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = spec.get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(path, f"`{key}` must be a list of text values")
            return default
        return tuple(value)


class MappingChecker(FieldChecker[FieldT], Generic[FieldT, StageT]):
    """Adds what Salesforce's and Zoho's files share: a section per object or module, each with
    ``fields``, ``properties`` and a picklist ``stage``."""

    stage_type: type[StageT]
    stage_keys: ClassVar[tuple[str, ...]] = ()  # keys the CRM's `stage:` takes besides STAGE_KEYS
    picklist_hint: ClassVar[str] = ""  # after "`mql` must name a picklist value"

    # -- the file -------------------------------------------------------------------------------

    def sections(
        self,
        listing: str,
        kinds: tuple[str, ...],
        section: Callable[[Path_, str, Any], SectionT | None],
    ) -> tuple[dict[str, Any], Any, dict[str, SectionT]]:
        """The file, its ``activities:`` and each section ``listing`` names (Lead, Contacts, …)."""
        data = self.src.data
        if not isinstance(data, dict):
            raise ConfigError([self.src.problem((), "the mapping file must be a YAML mapping")])
        self.keys((), data, ("version", listing, *kinds, "owners", "activities"), "the file")
        if data.get("version") != 1:
            self.fail(("version",), "`version: 1` is required (the only mapping version so far)")
        acts = data.get("activities") or {}
        self.take_custom_types(acts)
        names = data.get(listing, list(kinds))
        if not isinstance(names, list) or not names or any(n not in kinds for n in names):
            self.fail((listing,), f"`{listing}` must list {', '.join(kinds)} or both")
            names = [n for n in names if n in kinds] if isinstance(names, list) else []
        out: dict[str, SectionT] = {}
        for name in names:
            if name not in data:
                self.fail((listing,), f"`{name}` is listed in `{listing}` but has no `{name}:` section")
                continue
            made = section((name,), name, data[name])
            if made:
                out[name] = made
        return data, acts, out

    def contact_map(
        self, path: Path_, name: str, value: Any
    ) -> tuple[dict[str, FieldT], dict[str, FieldT], StageT] | None:
        """One object's or module's ``fields``, ``properties`` and ``stage``."""
        spec = self.keys(path, value, ("fields", "properties", "stage"), name)
        fields = self.fields((*path, "fields"), spec.get("fields"), contact=True)
        props = self.fields((*path, "properties"), spec.get("properties") or {}, contact=False)
        stage = self.stage((*path, "stage"), spec.get("stage"))
        return None if stage is None else (fields, props, stage)

    # -- the stage ------------------------------------------------------------------------------

    def stage(self, path: Path_, value: Any) -> StageT | None:
        spec = self.keys(path, value, (*STAGE_KEYS, *self.stage_keys), "stage")
        if not spec:
            self.fail(path, "`stage` is required: the picklist that holds the stage, and its values")
            return None
        api = self.api_name((*path, "field"), spec.get("field"), writable=True)
        stages = self.stage_values((*path, "stages"), spec.get("stages") or {})
        also: dict[str, str] = {}
        for crm_value, stage in (spec.get("also_read") or {}).items():
            if stage not in STAGES:
                self.fail(
                    (*path, "also_read", crm_value),
                    f"unknown stage `{stage}`{did_you_mean(str(stage), STAGES)}",
                )
            else:
                also[str(crm_value)] = stage
        edges: dict[str, str | None] = {}
        for key in ("unknown", "empty"):
            edge = spec.get(key)
            if edge is not None and edge not in STAGES:
                self.fail((*path, key), f"`{key}` must be a stage ({', '.join(STAGES)}) or left out")
                edge = None
            edges[key] = edge
        extra = self.stage_extra(path, spec)
        if api is None or not stages:
            if api is not None:
                self.fail((*path, "stages"), "`stages` must map at least one stage to a picklist value")
            return None
        return self.stage_type(api, stages, also, edges["unknown"], edges["empty"], **extra)

    def stage_values(self, path: Path_, spec: dict[Any, Any]) -> dict[str, str]:
        stages: dict[str, str] = {}
        for stage, crm_value in spec.items():
            if stage not in STAGES:
                self.fail((*path, stage), f"unknown stage `{stage}`{did_you_mean(str(stage), STAGES)}")
            elif not isinstance(crm_value, str) or not crm_value:
                self.fail((*path, stage), f"`{stage}` must name a picklist value{self.picklist_hint}")
            else:
                stages[stage] = crm_value
        if len(set(stages.values())) != len(stages):
            self.fail(path, "two stages share one picklist value; leadsync could not tell them apart")
        return stages

    def stage_extra(self, path: Path_, spec: dict[str, Any]) -> dict[str, Any]:
        """The CRM's own ``StageMap`` arguments, from its ``stage_keys``."""
        return {}
