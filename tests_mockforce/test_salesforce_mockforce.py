"""The Salesforce adapter against simple-mockforce 0.8.1, a fake written by others, where it can.

Our sandbox (``adapters/salesforce/sandbox*.py``) is what the main tests run against, and we wrote
it and the adapter alike: a misreading of Salesforce could be in both. mockforce is an independent
reading of the same API. These tests put the same records into both (copied from the sandbox, as
its REST API shows them, into mockforce's store) and ask the adapter the same questions of each:
the answers must be equal, and equal to what is written here by hand.

Cross-checked:

- **Sign-in** (``auth.sign_in``, client credentials on a My Domain URL): the form posted to
  ``https://acme.my.salesforce.com/services/oauth2/token``, the session on mockforce's instance,
  the bearer token on later calls. mockforce's token response lacks ``id`` (the identity URL
  Salesforce always returns, the org and user the adapter reads): the adapter refuses it with a
  clear error (tested), and the other tests add the ``id`` (``support.py``).
- **SOQL our helpers build**: ``Id IN (…)`` from ``soql_list``; a value with a quote in it stays
  one literal (mockforce's SOQL lexer, pyparsing's, takes ``\\'`` as SOQL does: an injection
  attempt matches nothing, where the same text unescaped matches a lead).
- ``fetch_by_id``: leads by Id with a converted, a deleted and an unknown one among them.
- ``read_changes``' **first read** (``IsConverted = false ORDER BY SystemModstamp, Id``): pages
  and cursor.
- ``read_owners``: Users (``UserType = 'Standard'``) and queues (``Type = 'Queue'``).
- the flat activity reads (``tests/adapters/sf_flat_reads.py``, the reference the adapter's
  relationship query must equal): Tasks (calls by subtype or Type, Call Result, duration, direction,
  emails, list emails, open calls, drafts, completed plain tasks, leadsync's own tasks) and Events,
  for leads and a converted lead's contact, with one not asked for and one deleted. The adapter
  itself reads them with one relationship query (``people.PeopleReader``: subqueries, which
  mockforce's parser refuses), so the sandbox side is the adapter's read and the mockforce side
  the flat per-object queries it replaced: the two must agree.
- ``create_task`` (``TaskWriter.create``, after ``org_zone``'s ``Organization`` query): the Task
  mockforce stores — ``WhoId``, ``OwnerId``, ``Subject``, ``ActivityDate`` in the org's zone,
  ``Status``, ``Priority``, ``Leadsync_Key__c``, ``Description`` — equals the one the sandbox
  stores, with ``Sforce-Auto-Assign: FALSE`` sent; a queue owner; and a create refused with
  ``DUPLICATE_VALUE`` finding the existing task by its key (``Leadsync_Key__c = '…'``).

Not cross-checked, because mockforce 0.8.1 cannot (see the research notes, section 1.1):

- **describe** (``sobjects/X/describe`` is routed as a record read and 404s): ``select`` and
  ``_has_task_key``, so the mockforce side is given the field list the sandbox's describe gave and
  ``has_key=True``; ``check`` and ``setup`` (also Tooling API, ``/limits``).
- **composite / sObject Collections and Bulk API 2.0** (not routed): ``write_contacts`` entirely.
- **paging** (``done`` is always true, no ``nextRecordsUrl``): ``query_pages``' second page.
- **relationship fields** (``Campaign.Name``, ``Account.Name`` need mockforce's relations file):
  Campaign Member activities, so the mapping here has no campaign rules; Contacts, whose company
  fields are ``Account.*``, so it maps Lead only.
- **date and datetime literals**: ``SystemModstamp >= 2026-11-23T10:00:00Z`` is compared as text
  with the stored ``…T10:00:00.000+0000`` (wrong at equal seconds), and dates raise: incremental
  reads, activity news, field history.
- **Get Deleted** (``sobjects/X/deleted``), ``Sforce-Limit-Info`` (never sent: the API budget),
  error bodies and session expiry (mockforce injects none), and unique fields (it enforces none:
  the ``DUPLICATE_VALUE`` refusal below is injected, the lookup after it is mockforce's).
- **Unescaping**: mockforce compares the literal still escaped (``O\\'Brien``), so a name with a
  quote is found by the sandbox and not by mockforce; the strict xfail below records it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from leadsync.adapters.salesforce.activities import KEY_FIELD, ActivityReader
from leadsync.adapters.salesforce.reads import fetch_by_id, read_changes, soql_list
from leadsync.api import Activity, CrmError, TaskRequest, TaskResult
from tests.adapters.sf_flat_reads import flat_activities
from tests_mockforce.conftest import Org
from tests_mockforce.support import (
    CLIENT_ID,
    CLIENT_SECRET,
    CREATE_NO_SLASH,
    IDENTITY,
    MOCK_TOKEN,
    MY_DOMAIN,
    NOW,
    ORG_ID,
    USER_ID,
    Mockforce,
    form,
    mirror,
    on_mockforce,
)


def _ids(rows: list[dict[str, object]]) -> list[str]:
    return sorted(str(r["Id"]) for r in rows)


# -- sign-in ------------------------------------------------------------------------------------


def test_client_credentials_sign_in_on_my_domain() -> None:
    def run(mf: Mockforce) -> None:
        session = mf.adapter.client.session
        assert (session.org_id, session.user_id) == (ORG_ID, USER_ID)
        assert session.instance_url == MOCK_TOKEN["instance_url"]
        assert session.access_token.get_secret_value() == MOCK_TOKEN["access_token"]
        assert mf.adapter.client.query("SELECT Id FROM Organization") == []
        (token,) = mf.requests("POST", "/services/oauth2/token")
        assert token.url == f"{MY_DOMAIN}/services/oauth2/token"
        assert form(token) == {
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        (query,) = mf.requests("GET", "/query/")
        assert str(query.url).startswith(f"{MOCK_TOKEN['instance_url']}/services/data/v66.0/query/?q=")
        assert query.headers["Authorization"] == f"Bearer {MOCK_TOKEN['access_token']}"

    on_mockforce(run, {"Organization": []})


def test_token_response_without_identity_is_refused_clearly() -> None:
    """mockforce's own token response has no ``id``; Salesforce's always has (``IDENTITY``)."""
    assert IDENTITY.startswith("https://login.salesforce.com/id/") and "id" not in MOCK_TOKEN

    def run(mf: Mockforce) -> None:
        with pytest.raises(CrmError, match="token response lacks `id`"):
            mf.adapter.client.query("SELECT Id FROM Organization")

    on_mockforce(run, {"Organization": []}, identity=False)


# -- SOQL our helpers build -----------------------------------------------------------------------


def test_id_in_list(org: Org) -> None:
    a, b = org.leads["a"], org.leads["b"]
    soql = f"SELECT Id, LastName FROM Lead WHERE Id IN {soql_list([a, b, '00Q000000000000AAA'])}"
    in_sandbox = org.adapter.client.query(soql)
    in_mockforce = on_mockforce(lambda mf: mf.adapter.client.query(soql), mirror(org.sb, "Lead"))
    assert _ids(in_mockforce) == _ids(in_sandbox) == sorted([a, b])
    assert {r["Id"]: r["LastName"] for r in in_mockforce} == {a: "O'Brien", b: "Keller"}


def test_a_quote_stays_inside_the_literal(org: Org) -> None:
    b = org.leads["b"]
    evil = f"nobody') OR Id IN ('{b}"  # unescaped, this closes the list and asks for lead b
    escaped = f"SELECT Id FROM Lead WHERE LastName IN {soql_list([evil])}"
    naive = f"SELECT Id FROM Lead WHERE LastName IN ('{evil}')"
    names = soql_list(["Keller", "O'Brien"])
    obrien = f"SELECT Id FROM Lead WHERE LastName IN {names}"
    assert escaped.endswith("('nobody\\') OR Id IN (\\'" + b + "')")
    assert org.adapter.client.query(escaped) == []
    assert _ids(org.adapter.client.query(obrien)) == sorted([org.leads["a"], b])  # unescaped by Salesforce

    def run(mf: Mockforce) -> tuple[list[str], list[str]]:
        return _ids(mf.adapter.client.query(escaped)), _ids(mf.adapter.client.query(naive))

    assert on_mockforce(run, mirror(org.sb, "Lead")) == ([], [b])  # the test would see a broken escape


@pytest.mark.xfail(strict=True, reason="mockforce 0.8.1 compares a literal without unescaping \\' and \\\\")
def test_a_name_with_a_quote_is_found(org: Org) -> None:
    name = soql_list(["O'Brien"])
    soql = f"SELECT Id FROM Lead WHERE LastName IN {name}"
    assert _ids(on_mockforce(lambda mf: mf.adapter.client.query(soql), mirror(org.sb, "Lead"))) == [
        org.leads["a"]
    ]


# -- reads ------------------------------------------------------------------------------------------


def test_fetch_by_id(org: Org) -> None:
    fields = org.adapter.select("Lead")  # the sandbox's describe: mockforce has none
    wanted = [*org.leads.values(), "00Q000000000000AAA", org.contact]
    in_sandbox = org.adapter.get_contacts(wanted)
    in_mockforce = on_mockforce(
        lambda mf: fetch_by_id(mf.adapter.client, mf.adapter.mapping, wanted, lambda _: fields),
        mirror(org.sb, "Lead"),
    )
    assert in_mockforce == in_sandbox
    # c is converted (its contact is not mapped here), d deleted, the 00Q… unknown
    assert sorted(c.id for c in in_mockforce) == sorted(org.leads[k] for k in "abf")
    a = next(c for c in in_mockforce if c.id == org.leads["a"])
    assert (a.last_name, a.company, a.lead_source, a.country, a.owner_id) == (
        "O'Brien",
        "Brien & Sons",
        "web",
        "IE",
        org.rep,
    )


def test_first_read_of_changes(org: Org) -> None:
    fields = org.adapter.select("Lead")
    in_sandbox = list(org.adapter.read_contacts(None))

    def run(mf: Mockforce) -> list[object]:
        return list(
            read_changes(
                mf.adapter.client,
                mf.adapter.mapping,
                None,
                now=org.sb.org.now(),
                overlap=timedelta(minutes=5),
                batch_size=2000,
                fetch=mf.adapter.get_contacts,
                select=lambda _: fields,
            )
        )

    in_mockforce = on_mockforce(run, mirror(org.sb, "Lead"))
    assert in_mockforce == in_sandbox
    (page,) = in_sandbox
    # oldest change first; converted and deleted leads left out
    assert [c.id for c in page.records] == [org.leads[k] for k in "abf"]
    assert page.cursor and page.cursor.startswith("sf1:") and not page.deleted and not page.moved


def test_owners(org: Org) -> None:
    in_sandbox = org.adapter.read_owners()
    in_mockforce = on_mockforce(lambda mf: mf.adapter.read_owners(), mirror(org.sb, "User", "Group"))
    assert in_mockforce == in_sandbox
    assert any(o.id == org.rep and o.active for o in in_mockforce)
    assert {o.name for o in in_mockforce if o.teams == ["queue"]} >= {"Inbound Leads"}


# -- activities -------------------------------------------------------------------------------------


def test_activities(org: Org) -> None:
    people = [org.leads["a"], org.leads["b"], org.contact, org.leads["d"]]
    in_sandbox = org.adapter.read_activities(people)  # has_key from the sandbox's describe of Task

    def run(mf: Mockforce) -> list[Activity]:
        reader = ActivityReader(mf.adapter.mapping.activities)
        got = flat_activities(mf.adapter.client, reader, people, has_key=True)
        soql = [parse_qs(urlsplit(str(r.url)).query)["q"][0] for r in mf.requests("GET", "/query/")]
        assert [q.split(" WHERE ")[0].split(" FROM ")[1] for q in soql] == ["Task", "Event"]
        assert KEY_FIELD in soql[0]  # leadsync's own tasks are recognised by it
        return got

    in_mockforce = on_mockforce(run, mirror(org.sb, "Task", "Event"))
    assert in_mockforce == in_sandbox == org.expected
    assert len(org.expected) == 7


# -- tasks --------------------------------------------------------------------------------------------

TASK_FIELDS = ("WhoId", "OwnerId", "Subject", "ActivityDate", "Status", "Priority", KEY_FIELD, "Description")


def _task(org: Org, **changes: object) -> TaskRequest:
    task = TaskRequest(
        key="sla:00Qcrosscheck:mql",
        contact_id=org.leads["a"],
        owner_id=org.rep,
        title="Call Aoife O'Brien (Brien & Sons) within 4 hours",
        due_at=NOW.replace(hour=23, minute=30),  # 00:30 on the 24th in Madrid: the org's date is the 24th
        body="Score 85: demo +50; pricing_3x +30; CTO +5",
    )
    return replace(task, **changes)  # type: ignore[arg-type]


def _stored(record: dict[str, object]) -> dict[str, object]:
    return {k: record.get(k) for k in TASK_FIELDS}


@pytest.mark.parametrize("queue", [False, True], ids=["rep", "queue"])
def test_create_task(org: Org, queue: bool) -> None:
    task = _task(org, owner_id=org.sb.queues()["Inbound Leads"]) if queue else _task(org)
    made = org.adapter.create_task(task)
    assert made.created and made.crm_id
    in_sandbox = _stored(org.sb.records_json("Task")[made.crm_id])

    def run(mf: Mockforce) -> tuple[TaskResult, dict[str, object], str]:
        result = mf.adapter.create_task(task)
        (post,) = mf.requests("POST", "/sobjects/Task")
        (stored,) = [t for t in mf.store["Task"] if t["Id"] == result.crm_id]
        return result, _stored(stored), post.headers.get("Sforce-Auto-Assign", "")

    result, in_mockforce, auto_assign = on_mockforce(run, mirror(org.sb, "Organization", "Task"))
    assert result.created and result.crm_id and result.error is None
    assert auto_assign == "FALSE"
    if queue:  # no OwnerId is sent: Salesforce makes the creating (integration) user the owner
        assert in_sandbox.pop("OwnerId") == org.sb.org.api_user and in_mockforce.pop("OwnerId") is None
    else:
        assert in_mockforce["OwnerId"] == org.rep
    assert in_mockforce == in_sandbox
    assert in_mockforce["ActivityDate"] == "2026-11-24"
    assert in_mockforce[KEY_FIELD] == task.key and in_mockforce["Status"] == "Not Started"
    assert in_mockforce["WhoId"] == org.leads["a"] and in_mockforce["Subject"] == task.title
    queue_note = f"For the lead queue {task.owner_id}: the lead has no owner yet.\n\n" if queue else ""
    assert in_mockforce["Description"] == f"Due by 2026-11-24 00:30 (CET).\n\n{queue_note}{task.body}"


def test_create_task_again_finds_it_by_key(org: Org) -> None:
    task = _task(org)
    first = org.adapter.create_task(task)
    again = org.adapter.create_task(task)  # the sandbox enforces the key's uniqueness
    assert again == TaskResult(task.key, first.crm_id)

    def run(mf: Mockforce) -> TaskResult:
        # mockforce enforces no unique field: Salesforce's refusal is injected; the lookup is mockforce's
        refusal = [{"errorCode": "DUPLICATE_VALUE", "message": "duplicate value", "fields": [KEY_FIELD]}]
        responses.replace(responses.POST, CREATE_NO_SLASH, status=400, json=refusal)
        return mf.adapter.create_task(task)

    in_mockforce = on_mockforce(run, mirror(org.sb, "Organization", "Task"))
    assert in_mockforce == again
