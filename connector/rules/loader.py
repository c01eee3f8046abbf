"""Load a rules file: YAML, then shape (pydantic), then meaning; every problem as FILE:LINE."""

from __future__ import annotations

import copy
import re
import types
import typing
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from leadsync.errors import Problem, RulesError
from leadsync.model import BUILTIN_ACTIVITY_TYPES, BUILTIN_REASONS, CONTACT_ACTIVITY_TYPES
from leadsync.rules import rulesfile
from leadsync.rules.actionrules import compile_actions
from leadsync.rules.clock import Calendar
from leadsync.rules.compiled import (
    DecayRule,
    EngagementRule,
    FitRule,
    MqlRule,
    PoolRule,
    Rules,
    SlaRule,
    SqlRule,
)
from leadsync.rules.conditions import ConditionCompiler, did_you_mean
from leadsync.rules.owners import OwnerRef
from leadsync.rules.yamlsource import Path_, YamlSource, load_yaml
from leadsync.timeutil import duration_delta, parse_duration

__all__ = ["allowed_keys", "load_rules", "rules_from_source"]

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONGEST = timedelta(days=3650)  # a task or SLA duration; longer ones overflow date arithmetic


def load_rules(path: Path) -> Rules:
    """The compiled rules of ``path``; raise RulesError listing every problem."""
    return rules_from_source(load_yaml(path))


def rules_from_source(source: YamlSource) -> Rules:
    if source.data is None:
        raise RulesError([Problem(source.file, 1, "the rules file is empty; start with `version: 1`")])
    if not isinstance(source.data, dict):
        raise RulesError([Problem(source.file, 1, "the rules file must be a mapping (key: value)")])
    try:
        model = rulesfile.RulesFile.model_validate(source.data)
    except ValidationError as exc:
        problems = [_shape_problem(source, err) for err in exc.errors()]
        raise RulesError(problems + _meaning_despite(source, exc)) from None
    return _Compiler(source, model).compile()


def _meaning_despite(source: YamlSource, exc: ValidationError) -> list[Problem]:
    """The problems of meaning too, when the only shape problems are unknown keys.

    A person fixing a file wants every problem at once, not the regex error after the typo.
    """
    errors = exc.errors()
    if any(err["type"] != "extra_forbidden" for err in errors):
        return []
    data = copy.deepcopy(source.data)
    for err in errors:
        *parents, key = err["loc"]
        holder = data
        for part in parents:
            holder = holder[part]
        holder.pop(key, None)
    try:
        _Compiler(source, rulesfile.RulesFile.model_validate(data)).compile()
    except (RulesError, ValidationError) as more:
        return more.problems if isinstance(more, RulesError) else []
    return []


# -- shape errors ---------------------------------------------------------------------------

_MESSAGES = {
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
}


def _shape_problem(source: YamlSource, err: Any) -> Problem:
    loc: Path_ = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
    kind = err["type"]
    where = _dotted(loc)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = allowed_keys(loc[:-1])
        return source.problem(
            loc, f"unknown key `{key}` in `{_dotted(loc[:-1]) or 'the file'}`{did_you_mean(key, allowed)}"
        )
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        got = err.get("input")
        message = f"`{where}` must be {expected}, got {got!r}"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[
            kind
        ]
        bound = next(iter(err.get("ctx", {}).values()), "")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        message = f"`{where}` must be {sign} {bound}, got {err.get('input')!r}"
    elif kind == "too_short":
        message = f"`{where}` must not be empty"
    else:
        text = _MESSAGES.get(kind, err["msg"].lower())
        got = "" if kind == "missing" else f", got {err.get('input')!r}"
        message = f"`{where}` {text}{got}"
    return source.problem(loc, message)


def _dotted(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def allowed_keys(loc: Path_, root: type[BaseModel] = rulesfile.RulesFile) -> list[str]:
    """The keys a mapping at ``loc`` may have, found by walking the schema (the rules file's, or
    ``root``: the config file's uses it too, for its did-you-mean)."""
    annotation: Any = root
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
            if not isinstance(part, str) or part not in fields:
                return []
            annotation = fields[part].annotation
        elif typing.get_origin(annotation) in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or n for n, f in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


# -- meaning --------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, source: YamlSource, model: rulesfile.RulesFile) -> None:
        self.source = source
        self.model = model
        self.problems: list[Problem] = []
        self.contact_types = set(CONTACT_ACTIVITY_TYPES)
        self.sales_types = set(BUILTIN_ACTIVITY_TYPES - CONTACT_ACTIVITY_TYPES)
        self._activity_types()
        self.conditions = ConditionCompiler(
            source, frozenset(self.contact_types | self.sales_types), self.problems
        )
        self.reason_codes = self._reason_codes()

    def bad(self, path: Path_, message: str) -> None:
        self.problems.append(self.source.problem(path, message))

    def compile(self) -> Rules:
        m = self.model
        tz = self._timezone()
        fit, engagement = self._scoring()
        sla = self._sla(tz)
        rules = Rules(
            source=m,
            file=self.source.file,
            calendar=sla.calendar if sla else Calendar(tz),
            contact_types=frozenset(self.contact_types),
            sales_types=frozenset(self.sales_types),
            fit=fit,
            engagement=engagement,
            decay=_decay(m.scoring.decay),
            floor=m.scoring.floor,
            mql=MqlRule(m.stages.mql.score_at_least, m.stages.mql.fit_at_least) if m.stages.mql else None,
            sql=self._sql(),
            disqualify=self._disqualify(),
            sla=sla,
            account_match=m.routing.account_match,
            pools=self._pools(),
            actions=compile_actions(self),
            reason_labels=self._reason_labels(),
            reason_lookup=self._reason_lookup(),
            activity_fields=frozenset({*self.conditions.activity_fields, "outcome"}),
            owner_refs=self._owner_refs(),
        )
        if self.problems:
            raise RulesError(self.problems)
        return rules

    def _timezone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.model.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.bad(
                ("timezone",),
                f"unknown time zone `{self.model.timezone}`; use an IANA name"
                " such as Europe/Madrid or America/New_York",
            )
            return ZoneInfo("UTC")

    def _activity_types(self) -> None:
        for name, who in self.model.activity_types.items():
            path = ("activity_types", name)
            if name in BUILTIN_ACTIVITY_TYPES:
                self.bad(path, f"`{name}` is a built-in activity type; it cannot be redeclared")
            elif not _CODE.match(name):
                self.bad(path, f"activity type `{name}` must be lower_snake_case")
            (self.contact_types if who == "contact" else self.sales_types).add(name)

    def _reason_codes(self) -> set[str]:
        codes = set(BUILTIN_REASONS)
        for code in self.model.reasons:
            if not _CODE.match(code):
                self.bad(("reasons", code), f"reason code `{code}` must be lower_snake_case")
            codes.add(code)
        return codes

    def _reason(self, code: str, path: Path_) -> None:
        if code not in self.reason_codes:
            self.bad(
                path,
                f"unknown reason code `{code}`{did_you_mean(code, sorted(self.reason_codes))}"
                "; add it under `reasons` to define it",
            )

    def _reason_labels(self) -> dict[str, str]:
        labels = dict(BUILTIN_REASONS)
        for code, spec in self.model.reasons.items():
            labels[code] = spec.label if spec and spec.label else labels.get(code, code)
        return labels

    def _reason_lookup(self) -> dict[str, str]:
        lookup: dict[str, str] = {}
        owners: dict[str, str] = {}
        for code in sorted(self.reason_codes):
            spec = self.model.reasons.get(code)
            names = [code, self._reason_labels()[code]]
            if code in BUILTIN_REASONS:
                names.append(BUILTIN_REASONS[code])
            names += spec.aliases if spec else []
            for name in names:
                key = name.strip().casefold()
                if key in owners and owners[key] != code:
                    self.bad(("reasons", code), f"`{name}` names both `{owners[key]}` and `{code}`")
                owners.setdefault(key, code)
                lookup.setdefault(key, code)
        return lookup

    def _scoring(self) -> tuple[tuple[FitRule, ...], tuple[EngagementRule, ...]]:
        scoring = self.model.scoring
        seen: dict[str, Path_] = {}
        fit = []
        for i, rule in enumerate(scoring.fit):
            path: Path_ = ("scoring", "fit", i)
            self._name(rule.name, path, seen)
            fit.append(FitRule(rule.name, self.conditions.contact(rule.if_, (*path, "if")), rule.points))
        engagement = []
        for i, e in enumerate(scoring.engagement):
            path = ("scoring", "engagement", i)
            self._name(e.name, path, seen)
            kind = self.conditions.activity_type(e.activity, (*path, "activity"))
            where = self.conditions.activity(e.where, (*path, "where")) if e.where is not None else None
            if e.max_points is not None and e.per != "occurrence":
                self.bad((*path, "max_points"), "`max_points` only applies with `per: occurrence`")
            engagement.append(
                EngagementRule(
                    name=e.name,
                    activity_type=kind,
                    window_days=e.within_days,
                    count=self.conditions.counter(kind, where, e.within_days),
                    points=e.points,
                    min_count=e.min_count,
                    per_occurrence=e.per == "occurrence",
                    max_points=e.max_points,
                )
            )
        return tuple(fit), tuple(engagement)

    def _name(self, name: str, path: Path_, seen: dict[str, Path_]) -> None:
        if name == "decay":
            self.bad((*path, "name"), "`decay` is reserved for the decay line of the breakdown")
        elif name in seen:
            first = self.source.line(seen[name])
            self.bad((*path, "name"), f"rule name `{name}` is already used on line {first}")
        seen.setdefault(name, path)

    def _sql(self) -> SqlRule | None:
        sql = self.model.stages.sql
        if sql is None:
            return None
        criteria = tuple(
            (name, self.conditions.contact(cond, ("stages", "sql", "bant", name)))
            for name, cond in sql.bant.items()
        )
        if not criteria:
            self.bad(
                ("stages", "sql", "bant"), "`bant` needs at least one of budget, authority, need, timeline"
            )
        require = sql.require if sql.require is not None else len(criteria)
        if require > len(criteria):
            self.bad(
                ("stages", "sql", "require"),
                f"`require: {require}` but only {len(criteria)} BANT criteria are listed",
            )
        return SqlRule(criteria, require)

    def _disqualify(self) -> tuple[tuple[str, Any], ...]:
        out = []
        for i, rule in enumerate(self.model.disqualify):
            self._reason(rule.reason, ("disqualify", i, "reason"))
            out.append((rule.reason, self.conditions.contact(rule.if_, ("disqualify", i, "if"))))
        return tuple(out)

    def _duration(self, text: str, path: Path_) -> tuple[int, str] | None:
        try:
            amount, unit = parse_duration(text)
            too_long = amount > 10**9 or duration_delta(amount, unit) > _LONGEST
        except ValueError as exc:
            self.bad(path, str(exc))
            return None
        if too_long:
            self.bad(path, f"`{text}` is longer than {_LONGEST.days} days; write a shorter duration")
            return None
        return amount, unit

    def _sla(self, tz: ZoneInfo) -> SlaRule | None:
        sla = self.model.sla
        holidays = self._holidays(sla.holidays if sla else [])
        if sla is None:
            return None
        first_touch = None
        if sla.first_touch_within is not None:
            first_touch = self._duration(sla.first_touch_within, ("sla", "first_touch_within"))
        self._reason(sla.on_exhausted.reason, ("sla", "on_exhausted", "reason"))
        calendar = Calendar(tz, holidays=holidays)
        hours = sla.business_hours
        if hours is not None:
            path: Path_ = ("sla", "business_hours")
            opens = self._clock(hours.from_, (*path, "from"))
            closes = self._clock(hours.to, (*path, "to"))
            if not hours.days:
                self.bad((*path, "days"), "`days` must list at least one day")
            if opens and closes and closes != time(0) and closes <= opens:
                self.bad((*path, "to"), f"`to` ({hours.to}) must be after `from` ({hours.from_})")
            calendar = Calendar(
                tz,
                frozenset(_DAYS.index(d) for d in hours.days),
                opens or time(0),
                None if closes in (None, time(0)) else closes,
                holidays,
            )
        return SlaRule(
            first_touch=first_touch,
            calendar=calendar,
            business_hours=hours is not None,
            attempts=sla.attempts,
            exhausted_stage=sla.on_exhausted.stage,
            exhausted_reason=sla.on_exhausted.reason,
            archive_after_inactive_days=sla.archive_after_inactive_days,
        )

    def _clock(self, text: str, path: Path_) -> time | None:
        match = _CLOCK.match(text.strip())
        if not match or (match.group(1) == "24" and match.group(2) != "00"):
            self.bad(path, f'`{text}` is not a time of day; write it as "09:00" in quotes')
            return None
        hour = int(match.group(1))
        return time(0) if hour == 24 else time(hour, int(match.group(2)))

    def _holidays(self, items: list[str]) -> frozenset[date]:
        days = set()
        for i, text in enumerate(items):
            try:
                days.add(date.fromisoformat(text))
            except (TypeError, ValueError):
                self.bad(("sla", "holidays", i), f"holiday `{text}` is not a date like 2026-12-25")
        return frozenset(days)

    def _owner_refs(self) -> tuple[OwnerRef, ...]:
        """Every owner id the routing pools and their weights name, at its own line."""
        refs: list[OwnerRef] = []
        for i, pool in enumerate(self.model.routing.pools):
            path: Path_ = ("routing", "pools", i)
            for j, owner in enumerate(pool.owners):
                line = self.source.line((*path, "owners", j))
                refs.append(OwnerRef(owner, self.source.file, line, f"routing pool `{pool.name}`"))
            for owner in pool.weights or {}:
                line = self.source.line((*path, "weights", owner))
                refs.append(OwnerRef(owner, self.source.file, line, f"weight in routing pool `{pool.name}`"))
        return tuple(refs)

    def _pools(self) -> tuple[PoolRule, ...]:
        pools = []
        names: set[str] = set()
        for i, pool in enumerate(self.model.routing.pools):
            path: Path_ = ("routing", "pools", i)
            if pool.name in names:
                self.bad((*path, "name"), f"pool name `{pool.name}` is used twice")
            names.add(pool.name)
            if len(set(pool.owners)) != len(pool.owners):
                self.bad((*path, "owners"), "an owner is listed twice in this pool")
            weights = pool.weights or {}
            for owner in weights:
                if owner not in pool.owners:
                    self.bad(
                        (*path, "weights", owner),
                        f"weight for `{owner}`, who is not in pool "
                        f"`{pool.name}`{did_you_mean(owner, pool.owners)}",
                    )
            if weights and pool.strategy != "weighted":
                self.bad((*path, "weights"), "`weights` only apply with `strategy: weighted`")
            test = None
            if pool.if_ is not None:
                test = self.conditions.contact(pool.if_, (*path, "if"))
            pools.append(
                PoolRule(
                    name=pool.name,
                    test=test,
                    owners=tuple(pool.owners),
                    weighted=pool.strategy == "weighted",
                    weights=tuple(weights.get(o, 1.0) for o in pool.owners),
                )
            )
        return tuple(pools)


def _decay(decay: rulesfile.Decay | None) -> DecayRule | None:
    if decay is None:
        return None
    return DecayRule(decay.after_inactive_days, decay.points, decay.every_days)
