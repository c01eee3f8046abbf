"""Versioned cursors: ``<tag><version>:<compact JSON object>``, one codec for every adapter.

A cursor outlives the leadsync that wrote it: the state store keeps it between runs, across
upgrades. So each names its adapter (``tag``: ``sf``, ``zc``, ``hs``) and its layout's version.
A codec reads its own version, upgrades older ones through the readers it is given (a layout
that was not JSON included), and refuses a newer one with an error that says so: a leadsync that
guessed at a layout it does not know could skip records, which a person must decide to risk.
Empty fields are left out when encoding; a decoded cursor lacks them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from leadsync.api._json import JSON, compact_json

__all__ = ["CursorCodec", "CursorError"]


class CursorError(ValueError):
    """A stored cursor this adapter cannot resume from (another adapter's, damaged, or newer)."""


class CursorCodec:
    """Encodes and decodes one adapter's cursors (see the module docstring).

    ``upgrades`` maps an older version to a function reading that version's body (the text after
    ``<tag><version>:``) into the current layout; it raises ValueError for a body it cannot read.
    """

    def __init__(
        self,
        crm: str,
        tag: str,
        version: int,
        upgrades: Mapping[int, Callable[[str], JSON]] | None = None,
    ) -> None:
        if not re.fullmatch(r"[a-z]+", tag) or version < 1:
            raise ValueError("a cursor tag is lower-case letters and its version a number from 1")
        self.crm = crm
        self.tag = tag
        self.version = version
        self.upgrades = dict(upgrades or {})
        self._form = re.compile(rf"{tag}(\d+):(.*)", re.DOTALL)

    def encode(self, fields: Mapping[str, Any]) -> str:
        """The cursor text for ``fields`` (the current version), leaving out the empty ones."""
        return f"{self.tag}{self.version}:" + compact_json({k: v for k, v in fields.items() if v})

    def decode(self, text: str) -> JSON:
        """The fields of a cursor of this adapter, upgraded to the current version."""
        match = self._form.fullmatch(text)
        if match is None:
            raise self.foreign(text)
        version, body = int(match.group(1)), match.group(2)
        if version > self.version:
            raise CursorError(
                f"the stored {self.crm} cursor is of version {version}, newer than this leadsync reads "
                f"(up to {self.version}): a newer leadsync saved it; upgrade leadsync to resume from it"
            )
        try:
            if version == self.version:
                data = json.loads(body)
            elif version in self.upgrades:
                data = self.upgrades[version](body)
            else:
                raise CursorError(
                    f"the stored {self.crm} cursor is of version {version}, which this leadsync no "
                    "longer reads; clear the connection's cursor to read everything again"
                )
        except CursorError:
            raise
        except (ValueError, TypeError, AttributeError, KeyError, IndexError):
            raise self.foreign(text) from None
        if not isinstance(data, dict):
            raise self.foreign(text)
        return data

    def foreign(self, text: str) -> CursorError:
        """The error for a cursor this codec did not make (or one too damaged to read)."""
        return CursorError(
            f"not a {self.crm} cursor: {text[:40]!r}; the stored cursor was not made by this adapter"
        )
