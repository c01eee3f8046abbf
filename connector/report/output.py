"""Writing the report: ``json`` (one object), ``csv`` (one file per table into a folder), ``text``.

Every file is written whole or not at all (a temporary file renamed into place).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import IO, Any

import orjson

from leadsync.report.tables import tables

__all__ = ["csv_files", "to_json", "write_folder", "write_out"]


def to_json(report: dict[str, Any]) -> bytes:
    """The report as one JSON object, indented for a person, with a final newline."""
    return orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_files(report: dict[str, Any]) -> dict[str, bytes]:
    """File name → its bytes (UTF-8, a header row, nulls as empty cells, booleans true/false)."""
    out: dict[str, bytes] = {}
    for stem, header, rows in tables(report):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([_cell(c) for c in row] for row in rows)
        out[f"{stem}.csv"] = buffer.getvalue().encode()
    return out


def _atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_out(data: bytes, out: Path | None, stdout: IO[bytes]) -> None:
    """``data`` to the file ``out`` (whole or not at all), or to standard output."""
    if out is None:
        stdout.write(data)
        stdout.flush()
    elif str(out) != os.devnull:
        _atomic(out, data)


def write_folder(files: dict[str, bytes], folder: Path) -> None:
    """Each file into ``folder`` (made when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        _atomic(folder / name, data)
