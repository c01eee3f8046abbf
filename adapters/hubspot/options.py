"""A HubSpot connection's options, declared (``HubSpotOptions``; the adapter module lists them).

The token is read after them (``auth.token_from_options``): from ``token``, ``token_file`` or
the environment variable ``token_env`` names.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from leadsync.api import SYSTEM_CLOCK, AdapterOptions, ClockOption, RetryPolicy

from .fanout import DEFAULT_CONCURRENCY

__all__ = ["SEARCH_LAG_S", "HubSpotOptions"]

SEARCH_LAG_S = 30  # HubSpot: "it may take a few moments for newly created or updated objects to appear"


class HubSpotOptions(AdapterOptions):
    """What ``from_options`` takes (see ``leadsync.adapters.hubspot.adapter``)."""

    base_url: str = "https://api.hubapi.com"
    token: SecretStr | None = None
    token_file: str | None = None
    token_env: str | None = None
    mapping: str | None = None
    account_timezone: str = "UTC"
    batch_size: int = Field(100, ge=1, le=100)
    rate_per_10s: int = Field(190, ge=1, le=10_000)
    search_per_s: int = Field(5, ge=1, le=1_000)
    concurrency: int = Field(DEFAULT_CONCURRENCY, ge=1, le=16)
    search_lag_s: int = Field(SEARCH_LAG_S, ge=0, le=3_600)
    retry: RetryPolicy | None = None
    timeout: float = Field(30.0, gt=0)
    clock: ClockOption = SYSTEM_CLOCK

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"`base_url` must be an http(s) URL, not {value!r}")
        return value

    @field_validator("account_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone `{value}` in `account_timezone`; use an IANA name") from None
        return value
