"""A Salesforce connection's options, declared (``SalesforceOptions``; the adapter module lists them).

The secret a flow needs is checked where a person gives it: the connection's token (its
``token_env``/``token_file`` line), the ``private_key_file`` (jwt), the Consumer Secret's
environment variable (password).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from leadsync.api import SYSTEM_CLOCK, AdapterOptions, ClockOption, RetryPolicy

from .auth import Flow
from .client import DEFAULT_API_VERSION

__all__ = ["SalesforceOptions"]

_WHAT = {
    "jwt": "the private key (PEM): `private_key_file`, or the connection's token_file/token_env",
    "client_credentials": "the Consumer Secret in the connection's token_env or token_file",
    "password": "the password followed by the security token in the connection's token_env",
}


class SalesforceOptions(AdapterOptions):
    """What ``from_options`` takes (see ``leadsync.adapters.salesforce.adapter``)."""

    login_url: str = "https://login.salesforce.com"
    auth: Flow = "jwt"
    client_id: str = Field("", validate_default=True)
    username: str | None = Field(None, validate_default=True)
    private_key_file: str | None = None
    token: SecretStr | None = Field(None, validate_default=True)
    token_file: str | None = None  # the connection's, read by the config loader into `token`
    token_env: str | None = None
    client_secret_env: str = Field("SALESFORCE_CLIENT_SECRET", validate_default=True)
    audience: str | None = None
    api_version: str = DEFAULT_API_VERSION
    mapping: str | None = None
    batch_size: int = Field(200, ge=1, le=200)
    bulk_threshold: int = Field(2000, ge=1, le=10_000_000)
    query_batch: int = Field(2000, ge=200, le=2000)
    api_budget: float = Field(0.8, ge=0.01, le=1.0)
    overlap_s: float = Field(300, ge=0, le=86_400)
    ca_file: str | None = None
    retry: RetryPolicy | None = None
    timeout: float = Field(30.0, ge=0.1, le=600.0)
    clock: ClockOption = SYSTEM_CLOCK

    @field_validator("login_url")
    @classmethod
    def _login_url(cls, value: str) -> str:
        url = value.rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"`login_url` must be an https URL, not {url!r}")
        return url

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        if not value:
            raise ValueError("`client_id` is required: the connected app's Consumer Key")
        return value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None, info: ValidationInfo) -> str | None:
        flow = info.data.get("auth", "jwt")
        if flow in ("jwt", "password") and not value:
            raise ValueError(f"`username` is required with `auth: {flow}` (the integration user)")
        return value

    @field_validator("private_key_file")
    @classmethod
    def _key_file(cls, value: str | None) -> str | None:
        if value:
            _read(value, "the private key")
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        flow = info.data.get("auth", "jwt")
        from_file = flow == "jwt" and info.data.get("private_key_file")
        if not from_file and (value is None or not value.get_secret_value().strip()):
            raise ValueError(f"no secret for `auth: {flow}`: give {_WHAT[flow]}")
        return value

    @field_validator("client_secret_env")
    @classmethod
    def _client_secret_env(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("auth") == "password" and not os.environ.get(value, "").strip():
            raise ValueError(f"`auth: password` needs the Consumer Secret in ${value}")
        return value

    def secret(self) -> SecretStr:
        """The flow's secret: the private key file's PEM (jwt, when given), else the token."""
        if self.auth == "jwt" and self.private_key_file:
            return SecretStr(_read(self.private_key_file, "the private key").strip())
        return SecretStr(self.token.get_secret_value().strip() if self.token else "")

    def client_secret(self) -> SecretStr | None:
        """The connected app's Consumer Secret, for the password flow only."""
        if self.auth != "password":
            return None
        return SecretStr(os.environ.get(self.client_secret_env, "").strip())


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {what} {path}: {exc.strerror}") from None
