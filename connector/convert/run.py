"""Stream a CSV through a mapping into contacts.jsonl, activities.jsonl and outcomes.jsonl.

The main file is read row by row and each record written as it is made, so memory does not grow
with the rows (but for the set of contact ids seen, to refuse a repeated one). A joined file is
read whole into memory, keyed by its key column: join the smaller file (closed deals, not leads).
Nothing is written unless every row converts: the files are made in a temporary folder inside
``--out`` and moved into place at the end (each file atomically).
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from leadsync.convert.mapping import JoinSpec, Mapping, Value, load_mapping
from leadsync.convert.values import BadValue, Cell, convert_value, mapped_values
from leadsync.errors import ConfigError, Problem, RecordsError
from leadsync.jsonl import BadRecord, parse_contact
from leadsync.rules.yamlsource import YamlSource

__all__ = ["MAX_PROBLEMS", "Conversion", "convert"]

MAX_PROBLEMS = 100
_FILES = ("contacts", "activities", "outcomes")


@dataclass
class Conversion:
    """What a conversion wrote."""

    rows: int = 0
    written: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.rows} rows"] + [f"{n} {name}" for name, n in self.written.items()]
        if self.outcomes:
            parts.append(", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())))
        return "; ".join(parts)


class _TooMany(Exception):
    pass


@dataclass
class _Row:
    file: str
    line: int
    cells: dict[str, Cell]  # "column" or "join.column" -> text (None: missing)


class _Converter:
    def __init__(self, mapping: Mapping, source: YamlSource, csv_path: Path) -> None:
        self.mapping = mapping
        self.source = source
        self.csv_path = csv_path
        self.zone = mapping.zone
        self.missing = frozenset(mapping.missing)
        self.problems: list[Problem] = []
        self.types = {id(v): kind for _, v, kind in mapped_values(mapping)}
        self.seen: dict[str, int] = {}

    def problem(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _TooMany

    def get(self, row: _Row, spec: Value) -> Any:
        raw = row.cells.get(spec.column) if spec.column is not None else None
        try:
            return convert_value(spec, raw, self.types.get(id(spec)), self.zone)
        except BadValue as exc:
            self.problem(row.file, row.line, f"column `{spec.column}`: {exc}")
            return None

    def records(self, row: _Row) -> Iterator[tuple[str, dict[str, Any]]]:
        mapping = self.mapping
        cid = self.get(row, mapping.contact_id)
        if cid is None or cid == "":
            self.problem(row.file, row.line, f"column `{mapping.contact_id.column}`: the contact id is empty")
            return
        cid = str(cid)
        if mapping.contact is not None:
            contact = self.contact(row, cid)
            if contact is not None:
                yield "contacts", contact
        for index in range(len(mapping.activities)):
            activity = self.activity(row, cid, index)
            if activity is not None:
                yield "activities", activity
        if mapping.outcome is not None:
            outcome = self.outcome(row, cid)
            if outcome is not None:
                yield "outcomes", outcome

    def contact(self, row: _Row, cid: str) -> dict[str, Any] | None:
        spec = self.mapping.contact
        assert spec is not None
        first = self.seen.setdefault(cid, row.line)
        if first != row.line:
            self.problem(row.file, row.line, f"contact id `{cid}` repeats line {first}; one row per contact")
            return None
        obj: dict[str, Any] = {"id": cid}
        for name, value in spec.fields.items():
            obj[name] = self.get(row, value)
        props = {name: self.get(row, value) for name, value in spec.properties.items()}
        obj["properties"] = {k: v for k, v in props.items() if v is not None}
        try:
            parse_contact(obj)
        except BadRecord as exc:
            self.problem(row.file, row.line, f"the contact is not valid: {exc}")
            return None
        return obj

    def activity(self, row: _Row, cid: str, index: int) -> dict[str, Any] | None:
        spec = self.mapping.activities[index]
        if spec.when is not None:
            when = self.get(row, spec.when)
            if when is None or when is False or when == "":
                return None
        kind = self.get(row, spec.type) if isinstance(spec.type, Value) else spec.type
        if kind is None or kind == "":
            return None  # a value the type's map leaves out makes no activity
        at = self.get(row, spec.at)
        if at is None:
            self.problem(row.file, row.line, f"activity `{spec.name}`: its time (`at`) is empty")
            return None
        aid = self.get(row, spec.id) if spec.id is not None else None
        if aid is None:
            aid = (
                f"{cid}:{spec.name}" if self.mapping.contact is not None else f"{cid}:{spec.name}:{row.line}"
            )
        props = {name: self.get(row, value) for name, value in spec.properties.items()}
        return {
            "id": str(aid),
            "contact_id": cid,
            "type": str(kind),
            "at": at,
            "owner_id": self.get(row, spec.owner_id) if spec.owner_id is not None else None,
            "properties": {k: v for k, v in props.items() if v is not None},
        }

    def outcome(self, row: _Row, cid: str) -> dict[str, Any] | None:
        spec = self.mapping.outcome
        assert spec is not None
        value = self.get(row, spec.outcome)
        if value is None or value == "":
            return None
        if value not in ("won", "lost"):
            self.problem(row.file, row.line, f"outcome `{value}` is neither won nor lost; `map` it to one")
            return None
        at = self.get(row, spec.at)
        if at is None:
            self.problem(row.file, row.line, "the outcome's time (`at`) is empty")
            return None
        return {"contact_id": cid, "outcome": value, "at": at}


def _check_columns(conv: _Converter, main: list[str], joined: dict[str, list[str]]) -> None:
    """Every column the mapping names is in its file's header (else: the mapping's line)."""
    for path, spec, _ in mapped_values(conv.mapping):
        if spec.column is None:
            continue
        name, dot, column = spec.column.partition(".")
        if dot and name in joined:
            file, header = f"the `{name}` join's file", joined[name]
        else:
            file, header, column = str(conv.csv_path), main, spec.column
        if column in header:
            continue
        shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
        conv.problems.append(
            conv.source.problem(path, f"column `{column}` is not in {file}'s header ({shown})")
        )
    for index, join in enumerate(conv.mapping.join):
        if join.by not in main:
            line = conv.source.line(("join", index, "by"))
            message = f"`by` column `{join.by}` is not in {conv.csv_path}'s header"
            conv.problems.append(Problem(conv.source.file, line, message))


def _read_join(conv: _Converter, spec: JoinSpec, folder: Path) -> tuple[list[str], dict[str, list[Cell]]]:
    path = folder / spec.file
    rows: dict[str, list[Cell]] = {}
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        line = conv.source.line(("join",))
        raise ConfigError([Problem(conv.source.file, line, f"cannot read {path}: {exc.strerror}")]) from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if spec.key not in header:
            line = conv.source.line(("join",))
            conv.problems.append(
                Problem(conv.source.file, line, f"`key` column `{spec.key}` is not in {path}'s header")
            )
            return header, rows
        at = header.index(spec.key)
        for cells in reader:
            key = cells[at] if at < len(cells) else ""
            if key in rows:
                conv.problem(
                    str(path), reader.line_num, f"key `{key}` repeats; a joined file has one row per key"
                )
            rows[key] = [None if c in conv.missing else c for c in cells]
    return header, rows


def _rows(
    conv: _Converter, handle: IO[str], joins: dict[str, tuple[list[str], dict[str, list[Cell]]]]
) -> Iterator[_Row]:
    reader = csv.reader(handle)
    header = next(reader, [])
    file = str(conv.csv_path)
    on = {spec.name: header.index(spec.by) if spec.by in header else -1 for spec in conv.mapping.join}
    last = reader.line_num
    for cells in reader:
        start, last = last + 1, reader.line_num
        if not cells:
            continue
        if len(cells) != len(header):
            conv.problem(
                file, start, f"{len(cells)} cells where the header has {len(header)}; fix the row's quoting"
            )
            continue
        values: dict[str, Cell] = {
            h: (None if c in conv.missing else c) for h, c in zip(header, cells, strict=True)
        }
        for spec in conv.mapping.join:
            jheader, jrows = joins[spec.name]
            key = cells[on[spec.name]] if on[spec.name] >= 0 else ""
            found = jrows.get(key)
            for i, column in enumerate(jheader):
                values[f"{spec.name}.{column}"] = found[i] if found is not None and i < len(found) else None
        yield _Row(file, start, values)


def convert(mapping_path: Path, csv_path: Path, out: Path) -> Conversion:
    """Convert ``csv_path`` into ``out``; ``InputError`` (nothing written) for any problem."""
    mapping, source = load_mapping(mapping_path)
    conv = _Converter(mapping, source, csv_path)
    try:
        handle = csv_path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise RecordsError([Problem(str(csv_path), 0, f"cannot read the file: {exc.strerror}")]) from None
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert.", dir=out))
    result = Conversion()
    try:
        with handle, ExitStack() as stack:
            joins = {spec.name: _read_join(conv, spec, csv_path.resolve().parent) for spec in mapping.join}
            header = next(csv.reader([handle.readline()]), [])
            handle.seek(0)
            _check_columns(conv, header, {name: h for name, (h, _) in joins.items()})
            if conv.problems:
                raise ConfigError(conv.problems)
            wanted = {
                "contacts": mapping.contact is not None,
                "activities": bool(mapping.activities),
                "outcomes": mapping.outcome is not None,
            }
            files = {n: stack.enter_context((tmp / f"{n}.jsonl").open("wb")) for n in _FILES if wanted[n]}
            result.written = dict.fromkeys(files, 0)
            try:
                for row in _rows(conv, handle, joins):
                    result.rows += 1
                    for name, record in conv.records(row):
                        files[name].write(orjson.dumps(record) + b"\n")
                        result.written[name] += 1
                        if name == "outcomes":
                            result.outcomes[record["outcome"]] = result.outcomes.get(record["outcome"], 0) + 1
            except _TooMany:
                conv.problems.append(Problem(str(csv_path), 0, f"stopped after {MAX_PROBLEMS} problems"))
            except UnicodeDecodeError:
                conv.problems.append(
                    Problem(str(csv_path), 0, "the file is not UTF-8 text; re-export it as UTF-8")
                )
            except csv.Error as exc:
                conv.problems.append(Problem(str(csv_path), 0, f"not a readable CSV: {exc}"))
        if conv.problems:
            raise RecordsError(conv.problems)
        for name in result.written:
            os.replace(tmp / f"{name}.jsonl", out / f"{name}.jsonl")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result
