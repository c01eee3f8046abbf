"""`leadsync export` (CONTRACT §7) writes the state store's records as the §1 files, in id order,
whole or not at all, on SQLite and PostgreSQL: `report` and `evaluate` on the files give what they
give from the store and from the original records, and the files parse back to the stored records."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.cli import main
from leadsync.jsonl import load_activities, load_contacts, load_owners
from leadsync.model import BUILTIN_ACTIVITY_TYPES
from leadsync.records import activity_from_json, contact_from_json, owner_from_json
from leadsync.sync import export
from leadsync.sync.snapshot import apply_written
from leadsync.sync.state import StateStore
from tests.report.stored import EXAMPLE, NOW, example_jsonl, fill_store, save_records, write_config


@pytest.fixture
def config(tmp_path: Path, leadsync_store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "pat-na1-SECRET-123")
    fill_store(leadsync_store_url, "crm")
    return write_config(tmp_path / "leadsync.yaml", leadsync_store_url)


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _export(config: Path, out: Path) -> None:
    code, out_text, err = _cli("export", "--config", str(config), "--connection", "crm", "--out", str(out))
    assert code == 0, err
    assert out_text == ""
    assert err == f"leadsync export: 13 contacts, 8 activities, 2 owners written to {out}\n"


def _report(*args: str) -> Any:
    code, out, err = _cli("report", "--now", NOW, "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def test_report_on_the_export_equals_report_from_the_store(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    _export(config, out)
    assert sorted(p.name for p in out.iterdir()) == ["activities.jsonl", "contacts.jsonl", "owners.jsonl"]
    files = (
        *("--rules", str(EXAMPLE / "rules.yaml")),
        *("--contacts", str(out / "contacts.jsonl"), "--activities", str(out / "activities.jsonl")),
        *("--owners", str(out / "owners.jsonl")),
    )
    from_store = _report("--config", str(config), "--connection", "crm")
    assert _report(*files) == from_store
    assert from_store == json.loads((EXAMPLE / "expected.json").read_text())
    week = ("--by", "week", "--from", "2026-11-30")
    assert _report(*files, *week) == _report("--config", str(config), "--connection", "crm", *week)


def test_evaluate_on_the_export_decides_as_on_the_original_records(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    _export(config, out)

    def evaluate(folder: Path) -> str:
        code, decisions, err = _cli(
            *("evaluate", "--rules", str(EXAMPLE / "rules.yaml"), "--now", NOW),
            *("--contacts", str(folder / "contacts.jsonl")),
            *("--activities", str(folder / "activities.jsonl")),
            *("--owners", str(folder / "owners.jsonl")),
        )
        assert code == 0, err
        return decisions

    assert evaluate(out) == evaluate(EXAMPLE)


def test_in_id_order_and_parsed_back_to_the_stored_records(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    _export(config, out)
    contacts = example_jsonl("contacts.jsonl")
    assert load_contacts(out / "contacts.jsonl") == sorted(
        (contact_from_json(c) for c in contacts), key=lambda c: c.id
    )
    exported = [
        json.loads(line)["contact_id"] for line in (out / "activities.jsonl").read_text().splitlines()
    ]
    assert exported == sorted(exported)
    assert load_owners(out / "owners.jsonl") == {
        o["id"]: owner_from_json(o) for o in example_jsonl("owners.jsonl")
    }


def test_what_leadsync_last_wrote_is_applied(
    config: Path, tmp_path: Path, leadsync_store: StateStore
) -> None:
    first = sorted(c["id"] for c in example_jsonl("contacts.jsonl"))[0]
    written = {"stage": "mql", "mql_at": "2026-12-09T15:00:00+00:00", "sla_status": "pending"}
    with leadsync_store.transaction() as s:
        apply_written(s, "crm", {first: written})
    out = tmp_path / "copy"
    _export(config, out)
    line = json.loads((out / "contacts.jsonl").read_text().splitlines()[0])
    assert line["id"] == first
    assert (line["stage"], line["mql_at"]) == ("mql", "2026-12-09T15:00:00+00:00")
    assert line["properties"]["sla_status"] == "pending"


def test_a_second_export_replaces_the_first(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    _export(config, out)
    (out / "owners.jsonl").write_text("")
    _export(config, out)
    assert load_owners(out / "owners.jsonl")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("what", ["a file", "a folder of other files"])
def test_an_out_that_is_not_an_export_is_refused(config: Path, tmp_path: Path, what: str) -> None:
    out = tmp_path / "copy"
    if what == "a file":
        out.write_text("keep me")
        expected = f"--out:0: {out} is a file; name a folder for the three files"
    else:
        out.mkdir()
        (out / "notes.txt").write_text("keep me")
        expected = f"--out:0: {out} holds other files (notes.txt)"
    code, stdout, err = _cli("export", "--config", str(config), "--connection", "crm", "--out", str(out))
    assert (code, stdout) == (2, "")
    assert err.startswith(expected), err
    assert "keep me" in ((out if what == "a file" else out / "notes.txt").read_text())


def test_several_connections_need_one_named(config: Path, tmp_path: Path) -> None:
    code, _, err = _cli("export", "--config", str(config), "--out", str(tmp_path / "copy"))
    assert code == 2
    assert "several connections (other, crm); pick one with --connection" in err
    assert not (tmp_path / "copy").exists()


def test_a_failed_export_leaves_no_folder_behind(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "copy"
    _export(config, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    lines = 0

    def failing(handle: Any, obj: object) -> None:
        nonlocal lines
        lines += 1
        if lines == 3:
            raise OSError("No space left on device")
        handle.write(json.dumps(obj).encode() + b"\n")

    monkeypatch.setattr(export, "_line", failing)
    with pytest.raises(OSError):
        CliRunner().invoke(
            main,
            ["export", "--config", str(config), "--connection", "crm", "--out", str(out)],
            catch_exceptions=False,
        )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the earlier export, whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -- round trip: whatever the store holds comes back the same from the files -------------------------

# PostgreSQL text holds no NUL character: a CRM's value never has one either.
_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
_TEXT = st.one_of(st.none(), st.text(_CHARS, min_size=1, max_size=12))
_TIME = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.isoformat())
_CONTACT = st.fixed_dictionaries(
    {"created_at": _TIME},
    optional={
        "email": _TEXT,
        "first_name": _TEXT,
        "title": _TEXT,
        "lead_source": _TEXT,
        "employees": st.one_of(st.none(), st.integers(0, 10**6)),
        "stage": st.sampled_from(["lead", "mql", "sql", "nurture", "disqualified", "customer"]),
        "score": st.one_of(st.none(), st.integers(-100, 500), st.floats(-100, 500, allow_nan=False)),
        "disqualification_reason": _TEXT,
        "mql_at": st.one_of(st.none(), _TIME),
        "properties": st.dictionaries(
            st.text(_CHARS, min_size=1, max_size=8), st.one_of(_TEXT, st.booleans())
        ),
    },
)
_IDS = st.lists(st.text(_CHARS, min_size=1, max_size=6), min_size=0, max_size=12, unique=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=_IDS, data=st.data())
def test_round_trip(leadsync_store: StateStore, tmp_path: Path, ids: list[str], data: st.DataObject) -> None:
    connection = uuid.uuid4().hex  # one store for every example: each its own connection
    contacts = [{"id": cid, **data.draw(_CONTACT)} for cid in ids]
    activities = [
        {
            "id": f"{cid}-a{n}",
            "contact_id": cid,
            "type": data.draw(st.sampled_from(sorted(BUILTIN_ACTIVITY_TYPES))),
            "at": (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)).isoformat(),
            "properties": {"url": "/pricing"},
        }
        for cid in ids
        for n in range(data.draw(st.integers(0, 3)))
    ]
    owners = [{"id": f"u{n}", "name": f"Owner {n}", "capacity_per_day": n or None} for n in range(2)]
    save_records(leadsync_store, connection, contacts, activities, owners)
    out = tmp_path / connection
    export.export_records(leadsync_store, connection, BUILTIN_ACTIVITY_TYPES, out)

    expected = sorted((contact_from_json(c) for c in contacts), key=lambda c: c.id)
    assert load_contacts(out / "contacts.jsonl") == expected  # code-point order, as Python sorts
    back = list(load_activities(out / "activities.jsonl", BUILTIN_ACTIVITY_TYPES))
    key = {c.id: n for n, c in enumerate(expected)}
    wanted = sorted(
        (activity_from_json(a, BUILTIN_ACTIVITY_TYPES) for a in activities), key=lambda a: key[a.contact_id]
    )
    assert back == wanted
    assert load_owners(out / "owners.jsonl") == {o["id"]: owner_from_json(o) for o in owners}
