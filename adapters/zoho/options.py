"""A Zoho connection's options, declared (``ZohoOptions``; the adapter module lists them).

The refresh token comes from the connection's ``token_env``/``token_file``, the Client Secret
from ``client_secret_file`` or the environment variable ``client_secret_env`` names; each missing
one is reported where a person gives it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from leadsync.api import SYSTEM_CLOCK, AdapterOptions, ClockOption, RetryPolicy

from .auth import ALIASES, DATA_CENTERS, ENVIRONMENTS, Endpoints, endpoints
from .writes import BATCH, TRIGGERS

__all__ = ["ZohoOptions"]


class ZohoOptions(AdapterOptions):
    """What ``from_options`` takes (see ``leadsync.adapters.zoho.adapter``)."""

    client_id: str = Field("", validate_default=True)
    token: SecretStr | None = Field(None, validate_default=True)
    token_file: str | None = None  # the connection's, read by the config loader into `token`
    token_env: str | None = None
    client_secret_file: str | None = None
    client_secret_env: str = Field("ZOHO_CLIENT_SECRET", validate_default=True)
    data_center: str = "com"
    environment: str = "production"
    accounts_url: str | None = None
    api_url: str | None = None
    token_cache: str | None = None
    mapping: str | None = None
    batch_size: int = Field(BATCH, ge=1, le=BATCH)
    triggers: list[str] = Field(default_factory=list)
    concurrency: int = Field(4, ge=1, le=25)
    credit_floor: int = Field(1000, ge=0, le=10_000_000)
    ca_file: str | None = None
    retry: RetryPolicy | None = None
    timeout: float = Field(30.0, ge=0.1, le=600.0)
    clock: ClockOption = SYSTEM_CLOCK

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not value:
            raise ValueError("`client_id` is required: the Zoho client's Client ID")
        return value

    @field_validator("token")
    @classmethod
    def _refresh_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            raise ValueError("no refresh token: put it in the connection's token_env or token_file")
        return value

    @field_validator("client_secret_file")
    @classmethod
    def _secret_file(cls, value: str | None) -> str | None:
        if value:
            _read(value)
        return value

    @field_validator("client_secret_env")
    @classmethod
    def _secret_env(cls, value: str, info: ValidationInfo) -> str:
        given_file = "client_secret_file" in info.data and info.data["client_secret_file"]
        failed_file = "client_secret_file" not in info.data  # reported at its own line
        if not given_file and not failed_file and not os.environ.get(value, "").strip():
            raise ValueError(f"the Client Secret is not in ${value} (or `client_secret_file`)")
        return value

    @field_validator("data_center")
    @classmethod
    def _data_center(cls, value: str) -> str:
        if ALIASES.get(value, value) not in DATA_CENTERS:
            raise ValueError(f"unknown data centre {value!r} (one of {', '.join(DATA_CENTERS)})")
        return value

    @field_validator("environment")
    @classmethod
    def _environment(cls, value: str) -> str:
        if value not in ENVIRONMENTS:
            raise ValueError(f"unknown environment {value!r} (one of {', '.join(ENVIRONMENTS)})")
        return value

    @field_validator("triggers", mode="before")
    @classmethod
    def _triggers(cls, value: Any) -> Any:
        value = [] if value is None else value
        if not isinstance(value, list) or any(t not in TRIGGERS for t in value):
            raise ValueError(f"`triggers` must list some of {', '.join(TRIGGERS)}")
        return value

    def refresh_token(self) -> SecretStr:
        return SecretStr(self.token.get_secret_value().strip() if self.token else "")

    def client_secret(self) -> SecretStr:
        """From ``client_secret_file`` when given, else the environment variable."""
        if self.client_secret_file:
            return SecretStr(_read(self.client_secret_file).strip())
        return SecretStr(os.environ.get(self.client_secret_env, "").strip())

    def endpoints(self) -> Endpoints:
        return endpoints(self.data_center, self.environment, self.accounts_url, self.api_url)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read the client secret {path}: {exc.strerror}") from None
