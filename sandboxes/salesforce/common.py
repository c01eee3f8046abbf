"""Shared pieces of the Salesforce sandbox: its errors, record ids, Salesforce's time formats, and the
API versions it answers.

- Errors are a JSON array ``[{"message", "errorCode", "fields"}]`` with an HTTP status
  (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
- Ids are 15 characters (key prefix, pod, reserved, base-62 number) plus the 3-character
  case-safe suffix: for each 5-character chunk, a bit per upper-case letter, as one of ``A-Z0-5``.
- Datetimes are UTC with milliseconds and ``+0000`` (``2026-11-21T10:00:00.000+0000``); dates are
  ``2026-11-21``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = [
    "API_VERSIONS",
    "JSON",
    "KEY_PREFIXES",
    "IdFactory",
    "SfError",
    "full_id",
    "item_error",
    "parse_datetime",
    "sf_date",
    "sf_datetime",
    "valid_id",
]

JSON = dict[str, Any]
API_VERSIONS = [f"{v}.0" for v in range(31, 69)]  # 21.0-30.0 retired in Summer '25; 68.0 is Winter '27

# sObject → key prefix (the first three characters of its ids)
KEY_PREFIXES = {
    "Organization": "00D",
    "User": "005",
    "Group": "00G",
    "Lead": "00Q",
    "Contact": "003",
    "Account": "001",
    "Task": "00T",
    "Event": "00U",
    "Campaign": "701",
    "CampaignMember": "00v",
    "CampaignMemberStatus": "01Y",
    "LeadStatus": "01J",
    "AssignmentRule": "01Q",
    "PermissionSet": "0PS",
    "FieldPermissions": "01P",
    "PermissionSetAssignment": "0Pa",
    "CustomField": "00N",
    "LeadHistory": "017",  # every field history object shares 017
    "ContactHistory": "017",
    "Job": "750",
    "QueryLocator": "01g",
}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


@dataclass
class SfError(Exception):
    """A request Salesforce refuses: ``status`` and the error array (or ``raw`` for OAuth bodies)."""

    status: int
    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    raw: Any = None  # a body that is not the standard array (OAuth errors, HTML 414)
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self) -> Any:
        if self.raw is not None:
            return self.raw
        return [{"message": self.message, "errorCode": self.code, "fields": list(self.fields)}]

    def item(self) -> JSON:
        """The same error as one entry of a per-record ``errors`` list (collections, composite)."""
        return item_error(self.code, self.message, self.fields)


def item_error(code: str, message: str, fields: list[str] | None = None) -> JSON:
    return {"statusCode": code, "message": message, "fields": list(fields or [])}


def _suffix(id15: str) -> str:
    out = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out += _SUFFIX[bits]
    return out


def valid_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID_RE.match(value))


@functools.lru_cache(maxsize=1 << 18)
def full_id(value: str) -> str:
    """The 18-character form of a 15- or 18-character id (cached: queries compare every row's ids).

    An 18-character id is case-insensitive: its suffix restores the case of the first 15.
    """
    if len(value) == 18:
        restored = ""
        for chunk in range(3):
            bits = _SUFFIX.index(value[15 + chunk].upper())
            part = value[chunk * 5 : chunk * 5 + 5]
            restored += "".join(c.upper() if bits >> i & 1 else c.lower() for i, c in enumerate(part))
        value = restored
    return value + _suffix(value)


class IdFactory:
    """Deterministic ids per key prefix: ``00Q`` + pod ``5g`` + ``0`` + a base-62 serial."""

    def __init__(self, pod: str = "5g") -> None:
        self.pod = pod
        self._next: dict[str, int] = {}

    def new(self, prefix: str) -> str:
        # Serials start high enough that ids carry letters of both cases, as real ones do.
        n = self._next.get(prefix, 62**4 * 45 + 62**3 * 12 + 62 * 40)
        self._next[prefix] = n + 1
        digits = ""
        while n:
            n, r = divmod(n, 62)
            digits = _BASE62[r] + digits
        return full_id(prefix + self.pod + "0" + digits.rjust(9, "0"))


def sf_datetime(ts: datetime) -> str:
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}+0000"


def sf_date(d: date) -> str:
    return d.isoformat()


_DT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_datetime(text: str, *, need_zone: bool = False) -> datetime | None:
    """``2024-05-01T10:00:00Z``, ``...00.000+0000``, ``...00+01:00`` as aware UTC; None if not one.

    Without an offset the value is UTC (the REST API's reading), unless ``need_zone``.
    """
    m = _DT_RE.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    micro = int((m.group(7) or "0").ljust(6, "0")[:6])
    zone = m.group(8)
    if zone is None and need_zone:
        return None
    try:
        ts = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            ts -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    except ValueError:
        return None
    return ts
