"""Signing in to Salesforce: OAuth 2.0 JWT bearer, client credentials, or (legacy) password.

The three flows of a connected app, all one ``POST {login_url}/services/oauth2/token``:

- ``jwt`` (recommended for a daemon): an RS256 assertion signed with the connected app's
  private key, for a pre-authorised user — no secret crosses the wire, nothing expires but the key
  (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm).
- ``client_credentials``: the app's consumer key and secret, running as the app's "Run As" user;
  ``login_url`` must then be the org's My Domain URL.
- ``password``: username, password and security token. Salesforce is retiring it (SOAP
  ``login()`` is gone from API 65.0 and the OAuth password flow is blocked in new orgs); it works
  here only with a warning in the log.

The secret (a private key in PEM, a client secret, or a password followed by the security token)
is only ever held as a ``SecretStr`` and never logged. Salesforce answers with an access token
and the instance to call; when that token expires (``INVALID_SESSION_ID``) the client signs in
again with the same credentials.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import jwt
import requests
import structlog
from pydantic import SecretStr

from leadsync.api import AuthError, CrmError, TransientError, network_error, response_object

__all__ = ["Credentials", "Flow", "Session", "sign_in"]

Flow = Literal["jwt", "client_credentials", "password"]
log = structlog.get_logger("leadsync.salesforce.auth")

_HINTS = {
    "user hasn't approved this consumer": "pre-authorise the connected app for the user "
    "(App Manager › the app › Manage › Permitted Users: Admin approved; then add the user's profile "
    "or a permission set)",
    "invalid_client_id": "`client_id` must be the connected app's Consumer Key",
    "invalid client credentials": "check the Consumer Secret, and that the app enables the "
    "Client Credentials Flow with a Run As user",
    "no client credentials user enabled": "set a Run As user under the app's Client Credentials Flow",
    "authentication failure": "check the username, the password and the security token after it",
    "expired access/refresh token": "the assertion's clock is off or the key does not match the "
    "certificate uploaded to the connected app",
    "invalid assertion": "the private key does not match the certificate uploaded to the connected app",
    "audience is invalid": "set the `audience` option (https://test.salesforce.com for a sandbox)",
}


@dataclass(frozen=True)
class Credentials:
    """How to sign in; ``secret`` is the key, client secret or password+token of the flow."""

    flow: Flow
    login_url: str
    client_id: str
    secret: SecretStr
    username: str | None = None
    client_secret: SecretStr | None = None  # the password flow's connected-app secret
    audience: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(flow={self.flow!r}, login_url={self.login_url!r}, username={self.username!r})"

    def jwt_audience(self) -> str:
        if self.audience:
            return self.audience
        sandbox = "test.salesforce.com" in self.login_url or ".sandbox.my.salesforce.com" in self.login_url
        return "https://test.salesforce.com" if sandbox else "https://login.salesforce.com"


@dataclass(frozen=True)
class Session:
    """A signed-in session: the token, the instance to call, and who we are."""

    access_token: SecretStr
    instance_url: str
    org_id: str
    user_id: str

    def __repr__(self) -> str:
        return (
            f"Session(instance_url={self.instance_url!r}, org_id={self.org_id!r}, user_id={self.user_id!r})"
        )


def _form(creds: Credentials) -> dict[str, str]:
    secret = creds.secret.get_secret_value()
    if creds.flow == "jwt":
        now = int(time.time())
        claims = {
            "iss": creds.client_id,
            "sub": creds.username,
            "aud": creds.jwt_audience(),
            "exp": now + 180,
        }
        try:
            assertion = jwt.encode(claims, secret, algorithm="RS256")
        except (ValueError, TypeError) as exc:  # not a PEM private key
            raise AuthError(f"the Salesforce private key cannot sign a JWT: {type(exc).__name__}") from None
        return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    if creds.flow == "client_credentials":
        return {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": secret}
    log.warning(
        "salesforce_password_flow",
        detail="the username-password flow is being retired by Salesforce; switch to `auth: jwt`",
    )
    client_secret = creds.client_secret.get_secret_value() if creds.client_secret else ""
    return {
        "grant_type": "password",
        "client_id": creds.client_id,
        "client_secret": client_secret,
        "username": creds.username or "",
        "password": secret,
    }


def sign_in(
    creds: Credentials, http: requests.Session, timeout: float | tuple[float, float] = 30.0
) -> Session:
    """A new session, or AuthError saying what to fix (TransientError when Salesforce is down)."""
    url = creds.login_url.rstrip("/") + "/services/oauth2/token"
    try:
        response = http.post(url, data=_form(creds), timeout=timeout)
    except requests.RequestException as exc:
        raise network_error(f"POST {url}: {type(exc).__name__}", exc, url=url) from None
    body = response_object(response)
    if response.status_code >= 500:
        raise TransientError(f"POST {url}: HTTP {response.status_code}", status=response.status_code, url=url)
    if response.status_code != 200 or "access_token" not in body:
        error = str(body.get("error") or f"HTTP {response.status_code}")
        text = str(body.get("error_description") or "")
        hint = next((h for k, h in _HINTS.items() if k in f"{error} {text}".lower()), "")
        message = f"Salesforce refused the {creds.flow} sign-in: {error}" + (f" ({text})" if text else "")
        raise AuthError(message + (f"; {hint}" if hint else ""), status=response.status_code, url=url)
    identity = str(body.get("id") or "").rstrip("/").split("/")
    if len(identity) < 2 or not body.get("instance_url"):
        raise CrmError(f"Salesforce's token response lacks `id` or `instance_url` ({url})", url=url)
    session = Session(
        SecretStr(str(body["access_token"])), str(body["instance_url"]), identity[-2], identity[-1]
    )
    log.info("salesforce_signed_in", flow=creds.flow, instance=session.instance_url, user=session.user_id)
    return session
