"""Fuzzing what leadsync reads (issue 13): any input ends in a record or an input error, never
another exception. The JSON Lines readers (``leadsync.jsonl``, what ``evaluate`` reads), the state
codec (``leadsync.records``) and the three CRMs' record converters (``adapters/*/convert.py``),
with hypothesis on a fixed budget (``max_examples`` 200 each; no deadline, as CI machines vary).
What a reader accepts is decided too: the engine must compute with whatever got through."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.adapters.hubspot.convert import contact_from_record as hubspot_contact
from leadsync.adapters.hubspot.mapping_check import load_mapping as hubspot_mapping
from leadsync.adapters.salesforce.convert import contact_from_record as salesforce_contact
from leadsync.adapters.salesforce.mapping import load_mapping as salesforce_mapping
from leadsync.adapters.zoho.convert import contact_from_record as zoho_contact
from leadsync.adapters.zoho.mapping import load_mapping as zoho_mapping
from leadsync.api import Contact, RecordError
from leadsync.errors import RecordsError
from leadsync.jsonl import load_activities, load_contacts, load_owners
from leadsync.model import BUILTIN_ACTIVITY_TYPES, CONTACT_FIELDS, Activity
from leadsync.records import activity_from_json, contact_from_json, owner_from_json
from leadsync.rules.decide import decide_all
from leadsync.rules.history import History
from leadsync.rules.horizon import next_change_at
from tests.support import NOW_DT, rules

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULES = rules("""
    scoring:
      fit:
        - {name: big, if: {field: employees, gte: 500}, points: 20}
      engagement:
        - {name: demo, activity: demo_request, points: 50}
      decay: {after_inactive_days: 20, points: -15, every_days: 10}
    stages:
      mql: {score_at_least: 50}
    sla:
      first_touch_within: 2h
      attempts: 3
""")

# Timestamps as CRMs and people write them, the edges of datetime's range above all.
_ZONES = st.one_of(
    st.sampled_from(["+14:00", "-12:00", "-23:59"]), st.sampled_from(["Z", "+00:00", "+05:30", "", "+0000"])
)
_DATE_TEXT = st.builds(
    lambda y, mo, d, h, mi, s, frac, tz: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{tz}",
    st.one_of(
        st.sampled_from([1, 9999]), st.sampled_from([2, 199, 200, 9799, 9800, 9998]), st.integers(1, 9999)
    ),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["", ".999", ".000001"]),
    _ZONES,
)
_TIMES = st.one_of(
    _DATE_TEXT,
    st.sampled_from(["0001-01-01", "9999-12-31", "", "now", "2026-02-30T00:00:00Z"]),
    st.integers(-(10**20), 10**20).map(str),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=30), _TIMES
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _shaped(keys: list[str], base: dict[str, Any] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """A valid ``base`` record with a few of its keys set to any value (mostly timestamps), and
    sometimes a key of its own: most examples get past every other check to the one fuzzed."""
    changed = st.dictionaries(st.sampled_from(keys), st.one_of(_TIMES, _TIMES, _JSON), max_size=3)
    extra = st.dictionaries(st.text(max_size=8), _JSON, max_size=1)
    return st.tuples(changed, extra, st.booleans()).map(
        lambda t: {**(base or {}), **t[0], **(t[1] if t[2] else {})}
    )


_CONTACT = {"id": "c1", "created_at": "2026-01-01T00:00:00Z", "stage": "lead", "employees": 900}
_CONTACTS = st.one_of(_shaped([*CONTACT_FIELDS, "properties"], _CONTACT), _JSON)
_ACTIVITY_KEYS = ["id", "contact_id", "type", "at", "owner_id", "properties"]
_ACTIVITY = {"id": "a1", "contact_id": "c1", "type": "demo_request", "at": "2026-11-01T00:00:00Z"}
_ACTIVITIES = st.one_of(_shaped(_ACTIVITY_KEYS, _ACTIVITY), _JSON)
_OWNER = {"id": "u1", "name": "Ana", "email": "ana@x.io"}
_OWNERS = st.one_of(_shaped(["id", "name", "email", "active", "teams", "capacity_per_day"], _OWNER), _JSON)


def _computable(contacts: list[Contact], activities: list[Activity] = ()) -> None:  # type: ignore[assignment]
    """Decided, and each one's next recheck found, as the daemon does: no exception."""
    histories: dict[str, History] = {}
    by_id = {c.id: c for c in contacts}
    decisions = decide_all(
        RULES,
        contacts,
        lambda cid: [a for a in activities if a.contact_id == cid],
        None,
        NOW_DT,
        histories=histories,
    )
    for d in decisions:
        next_change_at(RULES, by_id[d.contact_id], histories[d.contact_id], d, NOW_DT)


def _lines(values: list[Any], raw: list[bytes]) -> bytes:
    out = [orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS) for v in values if _dumpable(v)]
    return b"\n".join(out + raw) + b"\n"


def _dumpable(value: Any) -> bool:
    try:
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return True


_RAW = st.lists(st.binary(max_size=40), max_size=2)


class TestJsonLines:
    """``evaluate``'s files: records, or a ``RecordsError`` (FILE:LINE problems), nothing else."""

    @FUZZ
    @given(st.lists(_CONTACTS, max_size=4), _RAW)
    def test_contacts(self, values: list[Any], raw: list[bytes]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "contacts.jsonl"
            path.write_bytes(_lines(values, raw))
            try:
                contacts = load_contacts(path)
            except RecordsError as exc:
                assert all(p.file == str(path) and p.line >= 1 for p in exc.problems)
                return
            _computable(contacts)

    @FUZZ
    @given(st.lists(_ACTIVITIES, max_size=4), _RAW)
    def test_activities(self, values: list[Any], raw: list[bytes]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "activities.jsonl"
            path.write_bytes(_lines(values, raw))
            try:
                activities = list(load_activities(path, BUILTIN_ACTIVITY_TYPES))
            except RecordsError as exc:
                assert all(p.line >= 1 for p in exc.problems)
                return
            person = contact_from_json(_CONTACT)
            decide_all(
                RULES, [person], lambda cid: [a for a in activities if a.contact_id == cid], None, NOW_DT
            )

    @FUZZ
    @given(st.lists(_OWNERS, max_size=4), _RAW)
    def test_owners(self, values: list[Any], raw: list[bytes]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "owners.jsonl"
            path.write_bytes(_lines(values, raw))
            with contextlib.suppress(RecordsError):
                load_owners(path)


class TestStateCodec:
    """``leadsync.records``: one object at a time, a record or a ``RecordsError``."""

    @FUZZ
    @given(_CONTACTS, _ACTIVITIES, _OWNERS)
    def test_each_kind(self, contact: Any, activity: Any, owner: Any) -> None:
        for read in (
            lambda: contact_from_json(contact),
            lambda: activity_from_json(activity, BUILTIN_ACTIVITY_TYPES),
            lambda: owner_from_json(owner),
        ):
            with contextlib.suppress(RecordsError):
                read()


_HS, _SF, _ZO = hubspot_mapping(), salesforce_mapping(), zoho_mapping()
_HS_KEYS = sorted({fm.field for fm in _HS.fields.values()} | {"createdate", "lastmodifieddate"})
_SF_KEYS = sorted({fm.field for om in _SF.objects.values() for fm in om.fields.values()})
_ZO_KEYS = sorted({fm.field for m in _ZO.modules.values() for fm in m.fields.values()})


def _converted(convert: Any, record: Any) -> None:
    try:
        contact = convert(record)
    except RecordError:
        return
    assert isinstance(contact, Contact) and contact.id
    _computable([contact])


class TestConverters:
    """A CRM record of any shape: a contact the engine can decide, or a ``RecordError``."""

    @FUZZ
    @given(
        st.one_of(
            st.integers(1, 10**12).map(str), st.integers(1, 10**12).map(str), st.none(), st.just(""), _JSON
        ),
        _shaped(_HS_KEYS, {"createdate": "2026-01-01T00:00:00Z"}),
        _shaped(["createdAt", "updatedAt", "archived"]),
    )
    def test_hubspot(self, rid: Any, props: dict[str, Any], top: dict[str, Any]) -> None:
        _converted(lambda r: hubspot_contact(r, _HS), {**top, "id": rid, "properties": props})

    @FUZZ
    @given(
        st.one_of(st.sampled_from(["00Q5g00000AbCdEAAZ", "0035g00000AbCdEAAZ", "", "001xx"]), _JSON),
        st.one_of(
            st.none(), st.sampled_from([{"type": "Lead"}, {"type": "Contact"}, {"type": "Task"}]), _JSON
        ),
        _shaped(
            [*_SF_KEYS, "CreatedDate", "Owner", "Account"], {"CreatedDate": "2026-01-01T00:00:00.000+0000"}
        ),
    )
    def test_salesforce(self, rid: Any, attributes: Any, fields: dict[str, Any]) -> None:
        _converted(lambda r: salesforce_contact(r, _SF), {**fields, "Id": rid, "attributes": attributes})

    @FUZZ
    @given(
        st.one_of(st.integers(1, 10**18).map(str), st.none(), st.just(""), _JSON),
        st.sampled_from(sorted(_ZO.modules)),
        _shaped([*_ZO_KEYS, "Created_Time", "Owner"], {"Created_Time": "2026-01-01T05:30:00+05:30"}),
    )
    def test_zoho(self, rid: Any, module: str, fields: dict[str, Any]) -> None:
        _converted(lambda r: zoho_contact(r, _ZO.modules[module]), {**fields, "id": rid})
