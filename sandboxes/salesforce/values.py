"""Field values in the Salesforce sandbox: from JSON and CSV into Python, checks, and back out.

Stored values are Python: ``str``, ``int``, ``float``, ``bool``, ``None``, aware UTC ``datetime``,
``date``. A JSON value of the wrong kind cannot be deserialized, so Salesforce refuses the whole
request (400 ``JSON_PARSER_ERROR``, even inside a collection); a CSV value of the wrong kind
fails only its row (``INVALID_TYPE_ON_FIELD_IN_RECORD``). Checks that need no other record (length,
e-mail, restricted picklist, numeric range) raise a per-record ``SfError``.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from leadsync.sandboxes.salesforce.common import SfError, parse_datetime, sf_date, sf_datetime
from leadsync.sandboxes.salesforce.schema import TEXT_TYPES, FieldDef

__all__ = ["NO_CHANGE", "JsonTypeError", "check_value", "from_csv", "from_json", "to_csv", "to_json"]

NO_CHANGE = object()  # a CSV cell left empty: Bulk API 2.0 leaves the field as it is
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_JSON_KIND = {"boolean": "boolean", "int": "int", "double": "double", "datetime": "datetime", "date": "date"}


class JsonTypeError(Exception):
    """A JSON value Salesforce could not deserialize into the field's type."""


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "START_OBJECT value {"
    if isinstance(value, list):
        return "START_ARRAY value ["
    if isinstance(value, bool):
        return f"VALUE_{str(value).upper()} value {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"VALUE_NUMBER_INT value {value}"
    return f"VALUE_STRING value {value}"


def _bad(f: FieldDef, value: Any) -> JsonTypeError:
    kind = _JSON_KIND.get(f.type, "string")
    return JsonTypeError(
        f"Cannot deserialize instance of {kind} from {_kind(value)} "
        "or request may be missing a required field"
    )


def _number(text: str) -> float | None:
    try:
        n = float(text)
    except ValueError:
        return None
    return n if math.isfinite(n) else None


def _parse_date(text: str) -> date | None:
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    ts = parse_datetime(text)
    return ts.date() if ts else None


def from_json(f: FieldDef, value: Any) -> Any:
    """A JSON value for ``f`` as Python; ``JsonTypeError`` if Salesforce could not read it."""
    if value is None:
        return None
    t = f.type
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _bad(f, value)
    if t in ("int", "double"):
        n = (
            float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else _number(value)
            if isinstance(value, str)
            else None
        )
        if n is None or (t == "int" and n != int(n)):
            raise _bad(f, value)
        return int(n) if t == "int" else n
    if t in ("datetime", "date"):
        parsed = (
            (parse_datetime(value) if t == "datetime" else _parse_date(value))
            if isinstance(value, str)
            else None
        )
        if parsed is None:
            raise _bad(f, value)
        return parsed
    if isinstance(value, (dict, list)):
        raise _bad(f, value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if not isinstance(value, str) else value


def from_csv(f: FieldDef, text: str) -> Any:
    """A Bulk API 2.0 CSV cell: ``""`` leaves the field alone, ``#N/A`` clears it."""
    if text == "":
        return NO_CHANGE
    if text == "#N/A":
        return None
    t = f.type
    value: Any = None
    if t == "boolean":
        value = {"true": True, "false": False, "1": True, "0": False}.get(text.lower())
    elif t in ("int", "double"):
        n = _number(text)
        value = None if n is None or (t == "int" and n != int(n)) else (int(n) if t == "int" else n)
    elif t == "datetime":
        value = parse_datetime(text)
    elif t == "date":
        value = _parse_date(text)
    else:
        return text
    if value is None:
        raise SfError(
            400, "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{f.label}: value not of required type: {text}", [f.name]
        )
    return value


def check_value(f: FieldDef, value: Any) -> Any:
    """The value as stored (numbers rounded to the field's scale); per-record errors as Salesforce's."""
    if value is None:
        return None
    t = f.type
    if t in TEXT_TYPES or t == "textarea":
        text = str(value)
        if f.length and len(text) > f.length:
            raise SfError(
                400,
                "STRING_TOO_LONG",
                f"{f.label}: data value too large: {text} (max length={f.length})",
                [f.name],
            )
        if t == "email" and text and not _EMAIL.match(text):
            raise SfError(400, "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {text}", [f.name])
        if t == "picklist" and f.restricted and text not in f.values:
            raise SfError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{f.label}: bad value for restricted picklist field: {text}",
                [f.name],
            )
        return text
    if t == "double" and f.precision:
        rounded = round(float(value), f.scale)
        if abs(rounded) >= 10 ** (f.precision - f.scale):
            raise SfError(
                400,
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{f.label}: value outside of valid range on numeric field: {value}",
                [f.name],
            )
        return rounded
    if t == "int" and not -(2**31) <= int(value) < 2**31:
        raise SfError(
            400,
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{f.label}: value outside of valid range on numeric field: {value}",
            [f.name],
        )
    return value


def to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return sf_date(value)
    return value


def to_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    out = to_json(value)
    return str(out)
