"""Logging in to the Salesforce sandbox: OAuth 2.0 flows, the legacy SOAP ``login()``, sessions
and the identity endpoints.

- ``POST /services/oauth2/token`` (form body): ``client_credentials`` (client id and secret in the
  form or as HTTP Basic; the session runs as the connected app's run-as user), the JWT bearer flow
  (an RS256 assertion signed by the key registered for the app: ``iss`` the consumer key, ``sub``
  the username, ``aud`` the login URL or login/test.salesforce.com, ``exp`` ahead) and
  ``password`` (password followed by the security token). Failures are 400
  ``{"error", "error_description"}`` as Salesforce words them.
- ``POST /services/Soap/u/{version}``: the SOAP login simple-salesforce uses for username +
  password + security token. Salesforce has no ``login()`` from API 65.0 on
  (https://developer.salesforce.com/docs/platform/api/guide/sforce-api-calls-login.html): those
  versions get its ``INVALID_OPERATION`` fault.
- A session is ``Authorization: Bearer <token>``; one unused for ``session_timeout`` seconds of
  the sandbox clock (2 hours, Salesforce's default), revoked or expired by the back door is 401
  ``INVALID_SESSION_ID``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from leadsync.sandboxes.salesforce.common import JSON, SfError
from leadsync.sandboxes.salesforce.store import Org

__all__ = ["Auth", "Credentials", "Session"]

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SOAP_LOGIN_LAST_VERSION = 64.0
_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


@dataclass
class Credentials:
    """What a client needs: the connected app's consumer key and secret, and the API user's login."""

    client_id: str
    client_secret: str
    username: str
    password: str
    security_token: str


@dataclass
class Session:
    token: str
    user_id: str
    flow: str
    issued: datetime
    last_used: datetime
    expired: bool = False


def oauth_error(error: str, description: str) -> SfError:
    return SfError(400, error, description, raw={"error": error, "error_description": description})


class Auth:
    def __init__(self, org: Org, credentials: Credentials, clock: Callable[[], datetime]) -> None:
        self.org = org
        self.credentials = credentials
        self.clock = clock
        self.session_timeout = 7200.0
        self.soap_login = True  # orgs made since Winter '26 turn it off
        self.jwt_keys: list[Any] = []
        self.passwords: dict[str, tuple[str, str]] = {}  # username (lower) → (password, security token)
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    # -- sessions ------------------------------------------------------------------------------

    def new_session(self, user_id: str, flow: str) -> Session:
        with self._lock:
            now = self.clock()
            token = f"{self.org.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
            session = Session(token, user_id, flow, now, now)
            self.sessions[token] = session
            return session

    def authenticate(self, header: str | None) -> Session:
        token = header[7:].strip() if header and header[:7].lower() == "bearer " else ""
        with self._lock:
            session = self.sessions.get(token)
            now = self.clock()
            if session is not None and now - session.last_used > timedelta(seconds=self.session_timeout):
                session.expired = True
            if session is None or session.expired:
                raise SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")
            session.last_used = now
            return session

    def expire_all(self) -> int:
        with self._lock:
            for s in self.sessions.values():
                s.expired = True
            return len(self.sessions)

    def revoke(self, token: str) -> None:
        with self._lock:
            self.sessions.pop(token, None)

    # -- OAuth 2.0 token endpoint --------------------------------------------------------------

    def token(self, form: dict[str, str], basic: tuple[str, str] | None, base_url: str) -> JSON:
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            client_id, secret = basic or (form.get("client_id") or "", form.get("client_secret") or "")
            self._client(client_id, secret)
            user_id = self.org.api_user
        elif grant == "password":
            self._client(form.get("client_id", ""), form.get("client_secret", ""))
            found = self._password_user(form.get("username", ""), form.get("password", ""))
            if found is None:
                raise oauth_error("invalid_grant", "authentication failure")
            user_id = found
        elif grant == JWT_GRANT:
            user_id = self._jwt_user(form.get("assertion", ""), base_url)
        else:
            raise oauth_error("unsupported_grant_type", "grant type not supported")
        session = self.new_session(user_id, grant)
        issued = str(int(time.time() * 1000))
        ident = f"{base_url}/id/{self.org.org_id}/{user_id}"
        mac = hmac.new(self.credentials.client_secret.encode(), (ident + issued).encode(), hashlib.sha256)
        return {
            "access_token": session.token,
            "instance_url": base_url,
            "id": ident,
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": base64.b64encode(mac.digest()).decode(),
            "scope": "api",
        }

    def _client(self, client_id: str, secret: str) -> None:
        if client_id != self.credentials.client_id:
            raise oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(secret, self.credentials.client_secret):
            raise oauth_error("invalid_client", "invalid client credentials")

    def _password_user(self, username: str, password: str) -> str | None:
        known = self.passwords.get(username.lower())
        if known is None or not hmac.compare_digest(password, known[0] + known[1]):
            return None
        user = next((u for u in self.org.rows("User") if u["Username"].lower() == username.lower()), None)
        return str(user["Id"]) if user is not None and user["IsActive"] else None

    def _jwt_user(self, assertion: str, base_url: str) -> str:
        import jwt

        claims: dict[str, Any] | None = None
        for key in self.jwt_keys:
            try:
                claims = jwt.decode(
                    assertion, key, algorithms=["RS256"], options={"verify_aud": False, "verify_exp": False}
                )
                break
            except jwt.PyJWTError:
                continue
        if claims is None:
            raise oauth_error("invalid_grant", "invalid assertion")
        if claims.get("iss") != self.credentials.client_id:
            raise oauth_error("invalid_client_id", "client identifier invalid")
        audiences = {base_url, base_url.replace("http://", "https://"), "https://login.salesforce.com"}
        audiences.add("https://test.salesforce.com")
        aud = claims.get("aud")
        if not any(a.rstrip("/") in audiences for a in (aud if isinstance(aud, list) else [aud]) if a):
            raise oauth_error("invalid_grant", "audience is invalid")
        try:
            expired = int(claims.get("exp", 0)) <= time.time()  # the client's clock: real time
        except (TypeError, ValueError):
            expired = True
        if expired:
            raise oauth_error("invalid_grant", "expired authorization code")
        sub = str(claims.get("sub", "")).lower()
        user = next((u for u in self.org.rows("User") if u["Username"].lower() == sub), None)
        if user is None or not user["IsActive"]:
            raise oauth_error("invalid_grant", "user hasn't approved this consumer")
        return str(user["Id"])

    # -- SOAP login ----------------------------------------------------------------------------

    def soap(self, version: str, body: bytes, base_url: str) -> tuple[int, str]:
        """The partner API ``login()``: (status, SOAP XML)."""
        try:
            if float(version) > SOAP_LOGIN_LAST_VERSION:
                return _fault(
                    "INVALID_OPERATION",
                    f"The SOAP Login operation is not available in the API version specified ({version}). "
                    "Refer to the documentation for supported versions.",
                )
        except ValueError:
            return _fault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")
        if not self.soap_login:
            return _fault(
                "INVALID_OPERATION",
                "SOAP API login() is disabled by default in this org. Contact the org administrator to "
                "enable SOAP API login().",
            )
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            return _fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        found = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
        user_id = self._password_user(found.get("username", ""), found.get("password", ""))
        if user_id is None:
            return _fault(
                "INVALID_LOGIN",
                "Invalid username, password, security token; or user locked out.",
                "LoginFault",
            )
        session = self.new_session(user_id, "soap")
        org, user = self.org.org_id, self.org.get("User", user_id) or {}
        server = f"{base_url}/services/Soap/u/{version}/{org}"
        result = (
            f"<metadataServerUrl>{base_url}/services/Soap/m/{version}/{org}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{server}</serverUrl><sessionId>{session.token}</sessionId><userId>{user_id}</userId>"
            f"<userInfo><organizationId>{org}</organizationId><userEmail>{escape(str(user.get('Email')))}"
            f"</userEmail><userFullName>{escape(str(user.get('Name')))}</userFullName>"
            f"<userId>{user_id}</userId><userName>{escape(str(user.get('Username')))}</userName></userInfo>"
        )
        return 200, _envelope(
            f'<loginResponse xmlns="urn:partner.soap.sforce.com"><result>{result}</result></loginResponse>'
        )

    # -- identity ------------------------------------------------------------------------------

    def identity(self, user_id: str, base_url: str) -> JSON:
        user = self.org.get("User", user_id)
        if user is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        org = self.org.org_id
        ident = f"{base_url}/id/{org}/{user_id}"
        data = f"{base_url}/services/data/v{{version}}/"
        return {
            "id": ident,
            "asserted_user": True,
            "user_id": user_id,
            "organization_id": org,
            "username": user["Username"],
            "nick_name": str(user["Username"]).split("@")[0],
            "display_name": user["Name"],
            "email": user["Email"],
            "first_name": user["FirstName"],
            "last_name": user["LastName"],
            "timezone": user["TimeZoneSidKey"],
            "active": bool(user["IsActive"]),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "urls": {
                "rest": data,
                "sobjects": data + "sobjects/",
                "query": data + "query/",
                "limits": data + "limits/",
                "profile": f"{base_url}/{user_id}",
            },
        }

    def userinfo(self, user_id: str, base_url: str) -> JSON:
        ident = self.identity(user_id, base_url)
        return {
            "sub": ident["id"],
            "user_id": user_id,
            "organization_id": ident["organization_id"],
            "preferred_username": ident["username"],
            "username": ident["username"],
            "nickname": ident["nick_name"],
            "name": ident["display_name"],
            "display_name": ident["display_name"],
            "email": ident["email"],
            "email_verified": True,
            "given_name": ident["first_name"],
            "family_name": ident["last_name"],
            "zoneinfo": ident["timezone"],
            "active": ident["active"],
            "urls": ident["urls"],
        }


def _envelope(inner: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:sf="urn:fault.partner.soap.sforce.com">'
        f"<soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
    )


def _fault(code: str, message: str, kind: str = "UnexpectedErrorFault") -> tuple[int, str]:
    detail = (
        f'<sf:{kind} xsi:type="sf:{kind}"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:{kind}>"
    )
    return 500, _envelope(
        f"<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        f"<detail>{detail}</detail></soapenv:Fault>"
    )
