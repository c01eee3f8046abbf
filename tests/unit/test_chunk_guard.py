"""Once the CRM is down, a write's chunks are not sent and their records come back ``unsent``: the
outbox keeps them due without counting an attempt (an outage never makes dead letters)."""

from __future__ import annotations

from leadsync.api import RetryableError
from leadsync.api.writekit import send_chunks


class _P:
    def __init__(self, contact_id: str) -> None:
        self.contact_id = contact_id


def test_records_after_an_outage_are_unsent_not_refused() -> None:
    def send(chunk):
        raise RetryableError("HubSpot failed (503) after 2 attempts")

    results = send_chunks([[_P("c1"), _P("c2")], [_P("c3")]], send)
    assert sorted(results) == ["c1", "c2", "c3"]
    assert all(not r.ok and r.retryable and r.unsent for r in results.values())
    assert all("503" in (r.error or "") for r in results.values())
