"""A reason the CRM holds as a label or an alias is written back as its code (CONTRACT §2, §4 step
2, §5), against the local HubSpot portal: the portal shows the code after one sync, and the next
sync writes nothing. An unknown text is left as it is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadsync.sandboxes.hubspot.sandbox import HubSpotSandbox
from leadsync.sync.state import StateStore
from leadsync.testing.sync_suite import run
from tests.harnesses.hubspot import HubSpotSyncHarness

HARNESS = HubSpotSyncHarness()
# What a portal's admin added by hand to the reason dropdown before leadsync (HubSpot's screen
# makes an option's internal value its label): the playbook's label of `student`, an alias of
# `no_response` in another case, and a reason no rule knows.
BY_HAND = ("Estudiante", "NO CONTESTA", "Se mudó")


@pytest.fixture
def portal() -> Iterator[HubSpotSandbox]:
    sb = HARNESS.start(people=8, hot=0)
    try:
        options = sb.store.schema.get("contacts", "leadsync_reason").options
        for n, value in enumerate(BY_HAND):
            options.append({"label": value, "value": value, "displayOrder": 100 + n, "hidden": False})
        yield sb
    finally:
        HARNESS.stop(sb)


def _disqualify(sb: HubSpotSandbox, person: str, reason: str) -> None:
    """A rep disqualifies the contact in HubSpot's screens, with this reason."""
    for name, value in (
        ("lifecyclestage", "other"),
        ("hs_lead_status", "UNQUALIFIED"),
        ("leadsync_reason", reason),
    ):
        sb.set_property(person, name, value)


def test_labels_and_aliases_become_codes_in_the_crm(
    portal: HubSpotSandbox, leadsync_store: StateStore
) -> None:
    people = HARNESS.people(portal)[:4]
    held = dict(zip(people, [*BY_HAND, "student"], strict=True))
    for person, reason in held.items():
        _disqualify(portal, person, reason)

    first = run(HARNESS, portal, leadsync_store)
    assert first.status == "ok"
    shown = {p: portal.contacts[p].properties.get("leadsync_reason") for p in people}
    assert shown == dict(zip(people, ["student", "no_response", "Se mudó", "student"], strict=True))
    assert [HARNESS.value(portal, p, "stage") for p in people] == ["disqualified"] * 4

    second = run(HARNESS, portal, leadsync_store)
    assert second.counts.get("contacts_written", 0) == 0
