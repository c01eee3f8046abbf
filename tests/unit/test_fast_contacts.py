"""The fast decoding of contacts (``leadsync.inputs.contacts``) against the careful path
(``leadsync.jsonl``): on any file of good and bad lines, equal contacts in the same order, or the
same FILE:LINE problems (repeated ids included). Hypothesis spoils one field of a good line now
and then with what tells the two decoders apart (see ``test_fast_activities``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.inputs.contacts import fast_contacts, load_contacts, read_contacts
from leadsync.jsonl import load_contacts as careful_load_contacts
from leadsync.jsonl import read_contacts as careful_read_contacts
from tests.unit.test_fast_activities import _ID, _TS, _VALUE, _dumps, _outcome

_TIMES = ("created_at", "stage_changed_at", "mql_at", "sql_at", "assigned_at")
_TEXTS = ("email", "title", "domain", "owner_id", "disqualification_reason")


@st.composite
def _record(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": draw(st.sampled_from(["c1", "c2", "c3", "c4", "c5"])),
        "created_at": draw(st.sampled_from(["2026-01-02T03:04:05Z", "2025-12-31T23:00:00-05:00"])),
    }
    if draw(st.booleans()):
        obj["email"] = draw(st.sampled_from(["Ana@Example.COM", "x@", "plain", None]))
    if draw(st.booleans()):
        obj["domain"] = draw(st.sampled_from([" Example.org ", "", None]))
    if draw(st.booleans()):
        obj["employees"] = draw(st.sampled_from([None, 0, 720, 20000]))
    if draw(st.booleans()):
        obj["stage"] = draw(st.sampled_from([None, "lead", "mql", "customer"]))
        obj["stage_changed_at"] = "2026-11-01T00:00:00+01:00"
    if draw(st.booleans()):
        obj["score"] = draw(st.sampled_from([None, 55, 12.5, -3]))
    if draw(st.booleans()):
        obj["properties"] = {"department": draw(st.sampled_from(["IT", None]))}
    spoil = draw(st.integers(0, 11))
    if spoil == 1:
        obj[draw(st.sampled_from(_TIMES))] = draw(_TS)
    elif spoil == 2:
        obj[draw(st.sampled_from(["id", "owner_id"]))] = draw(_ID)
    elif spoil == 3:
        obj["stage"] = draw(st.sampled_from(["unknown", "", "MQL", 3]))
    elif spoil == 4:
        obj[draw(st.sampled_from(["employees", "score"]))] = draw(_VALUE)
    elif spoil == 5:
        obj[draw(st.sampled_from(["extra", "Title"]))] = 1
    elif spoil == 6:
        del obj[draw(st.sampled_from(["id", "created_at"]))]
    elif spoil == 7:
        obj["properties"] = draw(
            st.one_of(st.none(), st.integers(), st.dictionaries(st.text(max_size=3), _VALUE))
        )
    elif spoil == 8:
        obj[draw(st.sampled_from(_TEXTS))] = draw(_VALUE)
    return obj


_LINE = st.one_of(
    _record().map(_dumps),
    _record().map(_dumps),
    _record().map(_dumps),
    st.sampled_from(
        [b"", b"   ", b"[1, 2]", b'"text"', b"{not json", b"{}", b"null", b'{"id": 1e400}', b"\r"]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_LINE, max_size=40), chunk=st.sampled_from([64, 300, 1 << 20]), end=st.booleans())
def test_fast_path_reads_every_file_as_the_careful_path(lines: list[bytes], chunk: int, end: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.jsonl"
        path.write_bytes(b"\n".join(lines) + (b"\n" if end else b""))
        assert _outcome(lambda: list(read_contacts(path, chunk))) == _outcome(
            lambda: list(careful_read_contacts(path))
        )
        assert _outcome(lambda: load_contacts(path)) == _outcome(lambda: careful_load_contacts(path))


def test_good_lines_take_the_fast_path_and_equal_the_careful_ones(tmp_path: Path) -> None:
    lines = [
        {
            "id": f"c{i}",
            "created_at": "2026-01-02T03:04:05+02:00",
            "email": f"A{i}@Example.com",
            "score": i / 2,
        }
        for i in range(50)
    ]
    path = tmp_path / "contacts.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))

    assert fast_contacts(path.read_bytes()) is not None
    assert load_contacts(path) == careful_load_contacts(path)
