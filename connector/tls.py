"""Trusting one extra certificate authority for a CRM's HTTPS endpoint (a proxy's, a local sandbox's).

``requests.Session.verify`` alone is not enough: requests prefers ``REQUESTS_CA_BUNDLE`` and
``CURL_CA_BUNDLE`` from the environment over it, so the transport adapter mounted here sets
``verify`` on every request it sends. Verification is never turned off.
"""

from __future__ import annotations

from typing import Any

import requests
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

__all__ = ["trust_ca"]


def trust_ca(session: requests.Session, ca_file: str, prefix: str = "https://") -> requests.Session:
    """``session``, now verifying every request under ``prefix`` against ``ca_file`` (a PEM bundle)."""
    session.mount(prefix, _TrustAdapter(ca_file))
    return session


class _TrustAdapter(HTTPAdapter):
    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.ca_file = ca_file

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)
