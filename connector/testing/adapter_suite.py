"""The adapter contract: one suite every CRM adapter passes, against that CRM's local fake.

An adapter's test module subclasses ``AdapterContract`` and provides a ``harness`` fixture that
satisfies ``AdapterHarness``: a fresh fake CRM per test, driven through its own back door
(seeding, faults, request counts, reading what the CRM now holds). Each test states one behaviour
the sync loop relies on (``leadsync.api.CrmAdapter``); none knows which CRM it talks to::

    class TestToyContract(AdapterContract):
        @pytest.fixture
        def harness(self) -> Iterator[ToyAdapterHarness]:
            with ToyCrm() as crm:
                yield ToyAdapterHarness(crm)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest

from leadsync.api import (
    ApiBudget,
    AuthError,
    CheckNeeds,
    CheckReport,
    Contact,
    ContactChange,
    CrmAdapter,
    Page,
    RetryPolicy,
    TaskRequest,
)
from leadsync.testing.sleeps import SleepRecorder

__all__ = ["AdapterContract", "AdapterHarness"]


class AdapterHarness(Protocol):
    """What the suite needs from a CRM's local fake."""

    reason_labels: Mapping[str, str]

    def make_adapter(self, retry: RetryPolicy | None = None) -> CrmAdapter:
        """A new adapter (fresh in-memory state) connected to the fake."""
        ...

    def seed_contacts(self, n: int, *, equal_timestamps: bool = False) -> list[str]:
        """Replace the fake's contacts with ``n`` new ones (all modified at one instant if asked)."""
        ...

    def touch(self, contact_id: str) -> None:
        """Change a contact as a person would, so it sorts after every earlier cursor."""
        ...

    def inject(self, fault: str, times: int = 1) -> None:
        """Fail the next ``times`` requests: ``rate_limit`` (429), ``server_error`` (5xx), or
        ``unauthorized`` (the credentials stop working, for good)."""
        ...

    def call_count(self) -> int:
        """API requests the fake has answered so far."""
        ...

    def reject_writes_for(self, contact_id: str) -> None:
        """Make the CRM refuse every write to this one contact (as a validation rule would)."""
        ...

    def contact_value(self, contact_id: str, field: str) -> Any:
        """A canonical field's value as the CRM holds it now (read through the back door)."""
        ...

    def task_count(self, key: str) -> int:
        """How many tasks in the CRM carry this action key."""
        ...

    def expected_owners(self) -> dict[str, bool]:
        """Every owner the fake has, id → active."""
        ...


def read_all(adapter: CrmAdapter, cursor: str | None = None) -> list[Page[Contact]]:
    return list(adapter.read_contacts(cursor))


def ids_of(pages: Iterable[Page[Contact]]) -> list[str]:
    return [c.id for p in pages for c in p.records]


@pytest.mark.leadsync_contract
class AdapterContract:
    """Behaviour every adapter shows; subclass it and provide the ``harness`` fixture."""

    # -- reading contacts ------------------------------------------------------------------------

    def test_full_read_returns_every_contact_once(self, harness: AdapterHarness) -> None:
        """A read without a cursor returns each contact once, oldest change first, with cursors."""
        seeded = harness.seed_contacts(450)
        pages = read_all(harness.make_adapter())
        ids = ids_of(pages)
        assert sorted(ids) == sorted(seeded)
        assert len(ids) == len(set(ids))
        assert all(p.cursor for p in pages)
        for contact in (c for p in pages for c in p.records):
            assert contact.created_at.tzinfo is not None

    def test_resume_from_a_cursor_loses_nothing(self, harness: AdapterHarness) -> None:
        """Resuming from a page's cursor returns the rest; overlap is only a few ids, deduped by id."""
        seeded = harness.seed_contacts(450)
        adapter = harness.make_adapter()
        pages = read_all(adapter)
        assert len(pages) >= 2
        head = set(ids_of(pages[:1]))
        rest = ids_of(read_all(adapter, pages[0].cursor))
        assert len(rest) == len(set(rest)), "a read returns a contact once"
        assert head | set(rest) == set(seeded)
        assert len(head & set(rest)) <= 5, "overlap is the last timestamp's few contacts at most"

    def test_resume_from_the_last_cursor_sees_only_new_changes(self, harness: AdapterHarness) -> None:
        """After a full read, the final cursor yields the contacts changed since, and little else."""
        seeded = harness.seed_contacts(120)
        adapter = harness.make_adapter()
        final = read_all(adapter)[-1].cursor
        changed = seeded[10:13]
        for cid in changed:
            harness.touch(cid)
        again = ids_of(read_all(adapter, final))
        assert set(changed) <= set(again)
        assert len(set(again) - set(changed)) <= 1

    def test_equal_timestamps_are_neither_lost_nor_duplicated(self, harness: AdapterHarness) -> None:
        """Many contacts changed at the same instant: a full read and a resumed read cover them."""
        seeded = harness.seed_contacts(450, equal_timestamps=True)
        adapter = harness.make_adapter()
        pages = read_all(adapter)
        ids = ids_of(pages)
        assert sorted(ids) == sorted(seeded)
        assert len(pages) >= 2
        for n, page in enumerate(pages[:-1], start=1):
            head = set(ids_of(pages[:n]))
            rest = ids_of(read_all(adapter, page.cursor))
            assert len(rest) == len(set(rest)), "a read returns a contact once"
            assert head | set(rest) == set(seeded), f"contacts lost resuming after page {n}"
            assert len(head & set(rest)) <= 5, f"overlap after page {n}"

    def test_reads_past_the_search_window_cap(self, harness: AdapterHarness) -> None:
        """More contacts than one search query may page through (HubSpot: 10,000) are all read."""
        seeded = harness.seed_contacts(10_500)
        ids = ids_of(read_all(harness.make_adapter()))
        assert len(ids) == len(set(ids)) == 10_500
        assert set(ids) == set(seeded)

    # -- failures --------------------------------------------------------------------------------

    def test_rate_limit_is_retried(self, harness: AdapterHarness) -> None:
        """A 429 is waited out and retried by the one retry policy."""
        harness.seed_contacts(30)
        sleeps = SleepRecorder()
        adapter = harness.make_adapter(retry=sleeps.policy())
        harness.inject("rate_limit", times=2)
        assert len(ids_of(read_all(adapter))) == 30
        assert len(sleeps.waits) >= 2

    def test_server_errors_are_retried(self, harness: AdapterHarness) -> None:
        """A 5xx is retried with backoff; the read completes."""
        harness.seed_contacts(30)
        sleeps = SleepRecorder()
        adapter = harness.make_adapter(retry=sleeps.policy())
        owners_before = adapter.read_owners()
        harness.inject("server_error", times=2)
        assert len(ids_of(read_all(adapter))) == 30
        assert adapter.read_owners() == owners_before
        assert len(sleeps.waits) >= 2

    def test_unauthorized_is_fatal_and_clear(self, harness: AdapterHarness) -> None:
        """Bad credentials raise AuthError at once (no retries) with a message a person can act on."""
        harness.seed_contacts(5)
        sleeps = SleepRecorder()
        adapter = harness.make_adapter(retry=sleeps.policy())
        harness.inject("unauthorized")
        before = harness.call_count()
        with pytest.raises(AuthError) as caught:
            read_all(adapter)
        assert harness.call_count() - before == 1
        assert not sleeps.waits
        # 401 from an API; an OAuth token endpoint refuses a client with 400 (invalid_client/grant)
        assert caught.value.status in (400, 401)
        assert "token" in str(caught.value).lower() or "credential" in str(caught.value).lower()

    def test_credentials_revoked_while_signed_in_are_fatal(self, harness: AdapterHarness) -> None:
        """Revoked under a signed-in adapter: the refused call is not repeated; at most one new
        sign-in is tried (a session or access token may just have expired), then AuthError."""
        harness.seed_contacts(5)
        sleeps = SleepRecorder()
        adapter = harness.make_adapter(retry=sleeps.policy())
        adapter.read_owners()  # signed in, and the credentials work
        harness.inject("unauthorized")
        before = harness.call_count()
        with pytest.raises(AuthError):
            read_all(adapter)
        assert harness.call_count() - before in (1, 2), "the refused call, then at most one sign-in"
        assert not sleeps.waits

    # -- writing ---------------------------------------------------------------------------------

    def test_one_rejected_record_does_not_fail_its_batch(self, harness: AdapterHarness) -> None:
        """A record the CRM refuses is a result with the CRM's error; the others are written."""
        ids = harness.seed_contacts(5)
        adapter = harness.make_adapter()
        adapter.setup(harness.reason_labels)
        harness.reject_writes_for(ids[1])
        results = adapter.write_contacts([ContactChange(cid, {"score": 42}) for cid in ids[:3]])
        assert [r.contact_id for r in results] == ids[:3]
        assert [r.ok for r in results] == [True, False, True]
        assert results[1].error
        assert harness.contact_value(ids[0], "score") == 42
        assert harness.contact_value(ids[2], "score") == 42

    def test_stage_moves_backwards(self, harness: AdapterHarness) -> None:
        """mql → nurture is written even where the CRM only moves stages forward."""
        cid = harness.seed_contacts(3)[0]
        adapter = harness.make_adapter()
        adapter.setup(harness.reason_labels)
        start = harness.contact_value(cid, "stage")
        assert adapter.write_contacts([ContactChange(cid, {"stage": "mql"}, {"stage": start})])[0].ok
        assert harness.contact_value(cid, "stage") == "mql"
        change = ContactChange(
            cid, {"stage": "nurture", "disqualification_reason": "no_response"}, {"stage": "mql"}
        )
        result = adapter.write_contacts([change])[0]
        assert result.ok, result.error
        assert harness.contact_value(cid, "stage") == "nurture"
        assert harness.contact_value(cid, "disqualification_reason") == "no_response"

    def test_task_creation_is_idempotent(self, harness: AdapterHarness) -> None:
        """The same key twice (even from a restarted adapter) makes one task."""
        cid = harness.seed_contacts(2)[0]
        adapter = harness.make_adapter()
        adapter.setup(harness.reason_labels)
        owner = next(o for o, active in harness.expected_owners().items() if active)
        due = datetime.now(UTC) + timedelta(hours=2)
        task = TaskRequest(key=f"stage_mql:{cid}:2026-11-23T10:00:00Z", contact_id=cid, owner_id=owner,
                           title="First touch (SLA)", due_at=due)  # fmt: skip
        first = adapter.create_task(task)
        second = harness.make_adapter().create_task(task)
        assert first.created and first.crm_id and not first.error
        assert not second.created
        assert second.crm_id == first.crm_id
        assert harness.task_count(task.key) == 1

    def test_last_changed_reports_when_a_field_was_written(self, harness: AdapterHarness) -> None:
        """After a write, last_changed gives that field a timestamp no older than the write."""
        cid = harness.seed_contacts(2)[0]
        adapter = harness.make_adapter()
        adapter.setup(harness.reason_labels)
        before = datetime.now(UTC) - timedelta(seconds=5)
        assert adapter.write_contacts([ContactChange(cid, {"score": 77})])[0].ok
        changed = adapter.last_changed([cid], ["score", "stage"])
        assert changed[cid]["score"] >= before
        assert changed[cid]["score"].tzinfo is not None

    # -- owners, setup ---------------------------------------------------------------------------

    def test_owners_include_inactive_ones(self, harness: AdapterHarness) -> None:
        """Every owner is read, and deactivated (archived) ones come back with active false."""
        expected = harness.expected_owners()
        assert not all(expected.values()), "the fake should have an inactive owner"
        owners = harness.make_adapter().read_owners()
        assert {o.id: o.active for o in owners} == expected

    def test_setup_is_idempotent(self, harness: AdapterHarness) -> None:
        """A second setup creates nothing and says what is already there."""
        adapter = harness.make_adapter()
        first = adapter.setup(harness.reason_labels)
        second = harness.make_adapter().setup(harness.reason_labels)
        assert any(line.startswith("created") for line in first)
        assert second and not any(line.startswith(("created", "updated")) for line in second)
        assert any("already there" in line for line in second)

    def test_check_passes_with_full_access(self, harness: AdapterHarness) -> None:
        """With every permission granted and leadsync's fields set up, check says so."""
        harness.make_adapter().setup(harness.reason_labels)
        report = harness.make_adapter().check()
        assert report.ok, report.details
        assert not report.missing_scopes

    def test_check_for_names_missing_fields_until_setup(self, harness: AdapterHarness) -> None:
        """``check_for`` (optional) is not ok before ``setup`` and says to run it; ok after."""
        adapter = harness.make_adapter()
        check_for = getattr(adapter, "check_for", None)
        if check_for is None:
            pytest.skip("this adapter does not check fields")
        needs = CheckNeeds(dict(harness.reason_labels))
        before = check_for(needs)
        assert isinstance(before, CheckReport)
        assert not before.ok, before.details
        assert any("leadsync setup" in line for line in before.details), before.details
        adapter.setup(harness.reason_labels)
        after = harness.make_adapter().check_for(needs)  # type: ignore[attr-defined]
        assert after.ok, after.details

    def test_a_write_is_never_refused_for_its_owner_alone(self, harness: AdapterHarness) -> None:
        """A change whose owner the CRM refuses (inactive, or no such owner) still writes its other
        fields: the owner is sent again without it and reported ``dropped``."""
        [cid] = harness.seed_contacts(1)
        adapter = harness.make_adapter()
        adapter.setup(harness.reason_labels)
        inactive = next(oid for oid, active in harness.expected_owners().items() if not active)
        for n, owner in enumerate([inactive, "leadsync-no-such-owner"]):
            change = ContactChange(cid, {"owner_id": owner, "score": 41 + n})
            [result] = harness.make_adapter().write_contacts([change])
            assert result.ok, result.error
            assert float(harness.contact_value(cid, "score")) == 41 + n
            if harness.contact_value(cid, "owner_id") != owner:
                assert result.dropped == ("owner_id",), result

    def test_a_task_is_never_refused_for_its_owner_alone(self, harness: AdapterHarness) -> None:
        """A task whose owner the CRM refuses (inactive, or no such owner) is created without one."""
        [cid] = harness.seed_contacts(1)
        adapter = harness.make_adapter()
        adapter.setup(harness.reason_labels)
        inactive = next(oid for oid, active in harness.expected_owners().items() if not active)
        for n, owner in enumerate([inactive, "leadsync-no-such-owner"]):
            key = f"suite-owner-{n}:{cid}"
            task = TaskRequest(
                key, cid, owner, "Call now", datetime.now(UTC) + timedelta(hours=1), may_exist=False
            )
            result = harness.make_adapter().create_task(task)
            assert result.crm_id is not None, result.error
            assert harness.task_count(key) == 1

    # -- metering --------------------------------------------------------------------------------

    def test_the_api_budget_is_read_without_a_call(self, harness: AdapterHarness) -> None:
        """``api_budget()`` (optional) says what the CRM's answers said, never asks the CRM: the
        daemon's metrics call it at every scrape, from another thread than the run's."""
        harness.seed_contacts(5)
        adapter = harness.make_adapter()
        report = getattr(adapter, "api_budget", None)
        if report is None:
            pytest.skip("this adapter does not report an API budget")
        read_all(adapter)
        before = harness.call_count()
        budget = report()
        assert harness.call_count() == before
        assert budget is None or isinstance(budget, ApiBudget)
