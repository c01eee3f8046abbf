"""Issue 13, defect 2: a timestamp leadsync cannot compute with (years near 1 or 9999, with an
offset; epoch milliseconds past datetime's range) is an input problem of that record, found in one
place (``leadsync.timeutil.in_range``), never an ``OverflowError``; a record without an id is
refused alone, not read as contact ``""``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadsync.adapters.hubspot.convert import contact_from_record as hubspot_contact
from leadsync.adapters.hubspot.mapping_check import load_mapping as hubspot_mapping
from leadsync.adapters.salesforce.convert import contact_from_record as salesforce_contact
from leadsync.adapters.salesforce.mapping import load_mapping as salesforce_mapping
from leadsync.adapters.zoho.convert import contact_from_record as zoho_contact
from leadsync.adapters.zoho.mapping import load_mapping as zoho_mapping
from leadsync.api import RecordError, parse_crm_ts, record_ts
from leadsync.api.convertkit import read_each
from leadsync.rules.horizon import MAX_RECHECK
from leadsync.timeutil import EARLIEST, LATEST, MAX_DAYS, parse_duration, parse_iso_ts

OUT_OF_RANGE = [
    "0001-01-01T00:00:00+14:00",  # has no UTC instant: astimezone overflows
    "9999-12-31T23:59:59.999Z",  # one second from the end: any horizon overflows
    "9999-12-31T23:59:59-12:00",
    "0001-01-01",
    "0100-06-01T00:00:00Z",
    "99999999999999999",  # epoch milliseconds past year 9999
    "-99999999999999999",
]


class TestTheRange:
    @pytest.mark.parametrize("text", OUT_OF_RANGE)
    def test_a_crm_value_out_of_range_is_a_record_error_quoting_it(self, text: str) -> None:
        with pytest.raises(RecordError, match="outside what leadsync"):
            record_ts(text)
        assert parse_crm_ts(text) is None  # the lenient reader: unreadable, never an exception

    @pytest.mark.parametrize("text", [t for t in OUT_OF_RANGE if "T" in t])
    def test_an_input_file_value_out_of_range_is_a_value_error(self, text: str) -> None:
        with pytest.raises(ValueError, match=re.escape(f"`{text}` is outside")):
            parse_iso_ts(text)

    def test_the_edges(self) -> None:
        assert record_ts(EARLIEST.isoformat()) == EARLIEST
        assert record_ts("0200-01-01T05:00:00+05:00") == EARLIEST  # the same instant
        with pytest.raises(RecordError):
            record_ts("0200-01-01T05:00:01+05:01")  # a minute short
        with pytest.raises(RecordError):
            record_ts(LATEST.isoformat())
        last = LATEST - timedelta(microseconds=1)
        assert record_ts(last.isoformat()) == last
        assert record_ts(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)

    def test_horizons_stay_computable_at_both_ends(self) -> None:
        longest = timedelta(days=MAX_DAYS) + MAX_RECHECK
        assert (LATEST + longest).year < 9999 and (EARLIEST - longest).year > 1
        assert parse_duration(f"{MAX_DAYS}d") == (MAX_DAYS, "d")
        with pytest.raises(ValueError, match="longer than leadsync computes with"):
            parse_duration(f"{MAX_DAYS + 1}d")
        with pytest.raises(ValueError, match="longer"):
            parse_duration("99999999999d")  # was an OverflowError in timedelta


def _converters() -> list[tuple[str, Any, dict[str, Any], str]]:
    """(crm, convert, a good record, the field holding mql_at) for the three CRMs."""
    hs, sf, zo = hubspot_mapping(), salesforce_mapping(), zoho_mapping()
    return [
        (
            "hubspot",
            lambda r: hubspot_contact(r, hs),
            {"id": "101", "properties": {"createdate": "2026-01-01T00:00:00Z", "email": "a@x.io"}},
            "properties.leadsync_mql_at",
        ),
        (
            "salesforce",
            lambda r: salesforce_contact(r, sf),
            {
                "Id": "00Q000000000001AAA",
                "attributes": {"type": "Lead"},
                "CreatedDate": "2026-01-01T00:00:00.000+0000",
            },
            "Leadsync_MQL_At__c",
        ),
        (
            "zoho",
            lambda r: zoho_contact(r, zo.modules["Leads"]),
            {"id": "4000000000001", "Created_Time": "2026-01-01T05:30:00+05:30"},
            "Leadsync_MQL_At",
        ),
    ]


def _with(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = {**record, "properties": dict(record.get("properties") or {})}
    if path.startswith("properties."):
        out["properties"][path.split(".", 1)[1]] = value
    else:
        out[path] = value
    if not record.get("properties"):
        out.pop("properties")
    return out


@pytest.mark.parametrize(
    ("crm", "convert", "good", "mql"), _converters(), ids=["hubspot", "salesforce", "zoho"]
)
class TestConverters:
    def test_a_bad_timestamp_refuses_that_record_alone_naming_the_field(
        self, crm: str, convert: Any, good: dict[str, Any], mql: str
    ) -> None:
        bad = _with(good, mql, "9999-12-31T23:59:59.999Z")
        contacts, refused = read_each([bad, good], convert, lambda r: r.get("id") or r.get("Id"))
        assert [c.id for c in contacts] == [str(good.get("id") or good.get("Id"))]
        assert len(refused) == 1 and refused[0].contact_id == contacts[0].id
        assert mql.rsplit(".", 1)[-1] in refused[0].error and "9999-12-31T23:59:59.999Z" in refused[0].error
        assert refused[0].record == bad

    def test_a_record_without_an_id_is_refused_not_read_as_contact_empty(
        self, crm: str, convert: Any, good: dict[str, Any], mql: str
    ) -> None:
        no_id = {k: v for k, v in good.items() if k not in ("id", "Id")}
        contacts, refused = read_each([no_id, good], convert, lambda r: r.get("id") or r.get("Id"))
        assert [c.id for c in contacts] == [str(good.get("id") or good.get("Id"))]
        assert [(r.contact_id, "no id" in r.error.lower()) for r in refused] == [(None, True)]
