"""The fast decoding of activities (``leadsync.inputs.activities``) against the careful path
(``leadsync.jsonl.load_activities``): on any file of good and bad lines, the same activities in the
same order, or the same FILE:LINE problems. Hypothesis generates the lines from the pieces that
tell the two decoders apart (timestamps as people write them, numeric ids, 64-bit+ integers,
unknown keys and types, blank lines, JSON that is not an object), in chunks of a few hundred bytes
so that good and bad chunks alternate."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.errors import RecordsError
from leadsync.inputs.activities import read_activities
from leadsync.jsonl import load_activities
from leadsync.model import BUILTIN_ACTIVITY_TYPES

KNOWN = BUILTIN_ACTIVITY_TYPES | {"webinar_custom"}
KEEP = frozenset({"url", "outcome", "asset_type"})

_TS = st.one_of(
    st.sampled_from(
        [
            "2026-11-23T10:00:00Z",
            "2026-11-23T10:00:00+01:00",
            "2026-11-23T10:00:00-00:00",
            "2026-11-23T10:00:00+0530",
            "2026-11-23 10:00:00Z",
            "2026-11-23t10:00:00Z",
            "2026-11-23T10:00:00z",
            "2026-11-23T10:00:00.123456Z",
            "2026-11-23T10:00:00.1234567Z",
            "2026-11-23T10:00:00.9999999Z",
            "2026-11-23T10:00:00.5+02:00",
            "2026-11-23T10:00Z",
            "2026-11-23T10:00:00",
            "2026-11-23",
            "0001-01-01T00:00:00+14:00",
            "0199-12-31T23:59:59Z",
            "0200-01-01T00:00:00Z",
            "9799-12-31T23:59:59Z",
            "9800-01-01T00:00:00Z",
            "2026-02-30T10:00:00Z",
            "2026-11-23T24:00:00Z",
            "not a time",
        ]
    ),
    st.integers(0, 2**31),
)
_ID = st.one_of(
    st.sampled_from(["a1", "a2", "a3", "", "c1", "c2"]), st.integers(-5, 2**70), st.none(), st.booleans()
)
_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.lists(st.integers(0, 3), max_size=2),
)
_PROPS = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["url", "outcome", "asset_type", "duration_s", "subject"]), _VALUE, max_size=4
    ),
    st.integers(),
)


@st.composite
def _record(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": draw(st.sampled_from(["a1", "a2", "a3", "a4"])),
        "contact_id": draw(st.sampled_from(["c1", "c2", "c3"])),
        "type": draw(st.sampled_from(["page_view", "call", "demo_request", "webinar_custom"])),
        "at": draw(st.sampled_from(["2026-11-23T10:00:00Z", "2026-11-20T08:00:00+01:00"])),
    }
    if draw(st.booleans()):
        obj["owner_id"] = draw(st.sampled_from(["u1", None]))
    if draw(st.booleans()):
        obj["properties"] = {"url": "/pricing", "duration_s": 3}
    # Now and then one field goes wrong, or odd.
    spoil = draw(st.integers(0, 9))
    if spoil == 1:
        obj["at"] = draw(_TS)
    elif spoil == 2:
        obj[draw(st.sampled_from(["id", "contact_id", "owner_id"]))] = draw(_ID)
    elif spoil == 3:
        obj["type"] = draw(st.sampled_from(["unknown_type", "", 3, None]))
    elif spoil == 4:
        obj["properties"] = draw(_PROPS)
    elif spoil == 5:
        obj[draw(st.sampled_from(["extra", "Type"]))] = 1
    elif spoil == 6:
        del obj[draw(st.sampled_from(["id", "contact_id", "type", "at"]))]
    return obj


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()  # json, not orjson: it writes integers past 64 bits


_LINE = st.one_of(
    _record().map(_dumps),
    _record().map(_dumps),
    _record().map(_dumps),
    st.sampled_from(
        [b"", b"   ", b"[1, 2]", b'"text"', b"{not json", b"{}", b"null", b'{"id": 1e400}', b"\r"]
    ),
)


def _outcome(read: Any) -> Any:
    try:
        return ("ok", read())
    except RecordsError as error:
        return ("error", [str(p) for p in error.problems])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_LINE, max_size=40), chunk=st.sampled_from([64, 300, 1 << 20]), end=st.booleans())
def test_fast_path_reads_every_file_as_the_careful_path(lines: list[bytes], chunk: int, end: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "activities.jsonl"
        path.write_bytes(b"\n".join(lines) + (b"\n" if end else b""))
        fast = _outcome(lambda: [a for batch in read_activities(path, KNOWN, KEEP, chunk) for a in batch])
        careful = _outcome(lambda: list(load_activities(path, KNOWN, KEEP)))
    assert fast == careful


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23t10:00:00Z",
        "2026-11-23T10:00:00z",
        "2026-11-23T10:00:00.9999999Z",
    ],
)
def test_timestamps_msgspec_reads_otherwise_go_the_careful_way(tmp_path: Path, text: str) -> None:
    line = {"id": "a1", "contact_id": "c1", "type": "call", "at": text}
    path = tmp_path / "a.jsonl"
    path.write_bytes(orjson.dumps(line) + b"\n")
    fast = _outcome(lambda: [a for batch in read_activities(path, KNOWN, KEEP) for a in batch])
    assert fast == _outcome(lambda: list(load_activities(path, KNOWN, KEEP)))


def test_a_bad_line_late_in_a_big_file_is_named(tmp_path: Path) -> None:
    good = orjson.dumps({"id": "a", "contact_id": "c", "type": "call", "at": "2026-11-23T10:00:00Z"})
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join([good] * 5000 + [b'{"id": "x"}'] + [good] * 10) + b"\n")
    with pytest.raises(RecordsError) as caught:
        for _ in read_activities(path, KNOWN, KEEP, chunk_bytes=4096):
            pass
    assert [str(p) for p in caught.value.problems] == [f"{path}:5001: `type` is required"]
