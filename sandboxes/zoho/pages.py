"""Page tokens of the Zoho sandbox's listings (``info.next_page_token``): each says where a walk
through a module's records stands, so the next page picks up after its last key. How listings
use them is ``reads``'.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["PageToken", "PageTokens"]


@dataclass
class PageToken:
    """Where a listing walk stands: whose, bound to which parameters, after which key."""

    user: str
    bound: str
    after: tuple[Any, str]
    served: int
    expires: datetime


class PageTokens:
    """The page tokens handed out, by the opaque string a client sends back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, PageToken] = {}

    def make(self, token: PageToken) -> str:
        key = secrets.token_hex(40)
        with self._lock:
            self._tokens[key] = token
        return key

    def get(self, key: str) -> PageToken | None:
        with self._lock:
            return self._tokens.get(key)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
