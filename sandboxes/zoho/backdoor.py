"""The Zoho sandbox's back door: what people and automation do behind the API's back, and the
controls tests use (also over HTTP as ``POST /__sandbox/{method}``).

A person's edit moves ``Modified_Time`` and sets ``Modified_By`` to the record's owner (when
active, else the administrator), with no API rules: no credits, no field checks beyond the name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any

from leadsync.sandboxes.kit.clock import SandboxClock
from leadsync.sandboxes.kit.sandbox import Sandbox
from leadsync.sandboxes.zoho.common import JSON
from leadsync.sandboxes.zoho.data import account_for
from leadsync.sandboxes.zoho.http import ZohoApp
from leadsync.sandboxes.zoho.limits import Limits
from leadsync.sandboxes.zoho.store import Org, Record, WriteLog

__all__ = ["Controls"]


class Controls(Sandbox[ZohoApp, Limits]):
    """``ZohoSandbox``'s back door; ``CONTROLS`` are the methods ``POST /__sandbox/{name}`` calls
    (``kit.sandbox.Sandbox`` adds faults, stats, the ``/__sandbox`` table, serving and resetting)."""

    clock: SandboxClock

    CONTROLS = frozenset(
        {"touch", "insert", "delete", "lock", "unlock", "convert_lead", "advance", "expire_tokens"}
        | {"issue_refresh_token", "revoke_refresh_token", "set_credits", "set_workflow_rule", "clear_writes"}
        | {"reject_writes"}
    )

    @property
    def org(self) -> Org:
        return self.app.org

    # -- reading the store ---------------------------------------------------------------------

    def records(self, module: str) -> dict[str, Record]:
        """The module's records as stored (Python values), in creation order."""
        return self.org.records[module]

    def record(self, module: str, rid: str) -> Record:
        return self.org.records[module][rid]

    def records_json(self, module: str) -> list[JSON]:
        with self.org.lock:
            return [self.org.render(module, r) for r in self.org.records[module].values()]

    def users(self) -> list[Record]:
        return list(self.org.users.values())

    def writes(self) -> list[WriteLog]:
        """Every API write so far, with its ``trigger`` (``None``: absent, so workflows fired)."""
        return list(self.org.writes)

    def clear_writes(self) -> None:
        self.org.writes.clear()

    # -- people and automation -----------------------------------------------------------------

    def _person(self, rec: Record | None, by: str | None) -> str:
        if by:
            return by
        owner = (rec or {}).get("Owner")
        return owner if owner and self.org.active(owner) else self.org.api_user

    def touch(
        self, module: str, rid: str, values: dict[str, Any] | None = None, by: str | None = None
    ) -> JSON:
        """A person edits a record in the UI (``values`` as stored: user and record ids, datetimes)."""
        org = self.org
        with org.lock:
            rec = org.records[module][rid]
            unknown = set(values or {}) - set(org.modules[module].fields) - {"$se_module"}
            if unknown:
                raise KeyError(f"no such field on {module}: {sorted(unknown)}")
            org.save(module, rec, dict(values or {}), self._person(rec, by))
            return org.render(module, rec)

    def insert(self, module: str, values: dict[str, Any], by: str | None = None) -> str:
        """A person creates a record; its id."""
        org = self.org
        with org.lock:
            return str(org.insert(module, dict(values), self._person(values, by))["id"])

    def delete(self, module: str, rid: str, permanent: bool = False, by: str | None = None) -> None:
        """A person deletes a record (to the recycle bin, or for good)."""
        org = self.org
        with org.lock:
            rec = org.records[module][rid]
            org.delete(module, rec, self._person(rec, by), permanent)

    def lock(self, module: str, rid: str) -> None:
        """Lock a record (an approval process, a record under merge): API updates get RECORD_LOCKED."""
        with self.org.lock:
            self.org.records[module][rid]
            self.org.locked.add(rid)

    def unlock(self, module: str, rid: str) -> None:
        with self.org.lock:
            self.org.locked.discard(rid)

    def convert_lead(self, rid: str, by: str | None = None) -> str:
        """A rep converts a lead: a contact copying the person and every custom field of the same
        API name; the lead becomes ``Converted__s``; its activities move to the contact (``Who_Id``).
        Returns the contact's id."""
        org = self.org
        with org.lock:
            lead = org.records["Leads"][rid]
            who = self._person(lead, by)
            contact_fields = org.modules["Contacts"].fields
            values = {
                k: v for k, v in lead.items() if k in contact_fields and not contact_fields[k].read_only
            }
            values.update(
                Title=lead.get("Designation"),
                Mailing_City=lead.get("City"),
                Mailing_Country=lead.get("Country"),
            )
            values.pop("id", None)
            if lead.get("Company"):  # Zoho makes (or finds) the account named by Company
                values["Account_Name"] = account_for(org, str(lead["Company"]), who)
            contact = org.insert("Contacts", values, who)
            org.save("Leads", lead, {"Converted__s": True, "Converted_Date_Time": org.now()}, who)
            lead["$converted_to"] = {
                "contact": contact["id"],
                "account": values.get("Account_Name"),
                "by": who,
            }
            for module in ("Calls", "Events", "Tasks"):
                for act in org.records[module].values():
                    if act.get("What_Id") == rid:
                        org.save(
                            module, act, {"What_Id": None, "$se_module": None, "Who_Id": contact["id"]}, who
                        )
            return str(contact["id"])

    def set_workflow_rule(self, module: str, field: str, value: Any) -> None:
        """An org workflow rule: when a write fires workflows (no ``trigger`` key, or ``"workflow"``
        in it), set ``field`` to ``value`` on each record written."""
        self.org.workflow_rules.append((module, field, value))

    def reject_writes(
        self,
        module: str,
        rid: str,
        reject: bool = True,
        field: str = "Email",
        alert: str = "Leads from this domain belong to the partner team; do not edit them",
    ) -> None:
        """An org validation rule that fails for this one record: every API update of it is refused
        ``INVALID_DATA`` naming the rule's field, with the rule's alert as the message."""
        with self.org.lock:
            self.org.records[module][rid]
            if reject:
                self.org.validation_rules[rid] = (field, alert)
            else:
                self.org.validation_rules.pop(rid, None)

    # -- time, tokens, limits, stats -----------------------------------------------------------

    def advance(self, seconds: float = 0, **delta: float) -> str:
        """Move the sandbox clock forward (``advance(3600)`` or ``advance(hours=1)``)."""
        moved = self.clock.advance(seconds + timedelta(**delta).total_seconds())
        return str(moved.isoformat())

    def expire_tokens(self) -> None:
        """Every access token minted so far stops working (401 ``INVALID_TOKEN``)."""
        self.app.auth.expire_all()

    def issue_refresh_token(self, scopes: list[str] | None = None, user: str | None = None) -> str:
        """A new refresh token (all the sandbox's default scopes unless ``scopes``)."""
        return str(self.app.auth.issue(user or self.org.api_user, scopes))

    def revoke_refresh_token(self, token: str) -> None:
        self.app.auth.revoke(token)

    def set_credits(self, used: int) -> JSON:
        """Pretend ``used`` credits of the day's budget were spent just now."""
        self.app.limits.set_usage(used)
        return dict(self.app.limits.usage())

    def set_limits(self, **changes: Any) -> JSON:
        """Change ``Limits`` while running (``daily_credits``, ``concurrency``, ``legacy_429`` ...)."""
        lim = self.app.limits
        lim.limits = replace(lim.limits, **changes)
        self.app.auth.ttl, self.app.auth.mint_limit = lim.limits.token_ttl, lim.limits.token_mints
        return {**asdict(lim.limits), "usage": lim.usage()}

    def restore_limits(self, limits: Limits) -> None:
        self.set_limits(**asdict(limits))
        self.app.limits.reset()

    def more_stats(self) -> JSON:
        """Besides requests, faults and refusals: the credits used and the peak of calls in flight."""
        return {"credits": self.app.limits.usage()}

    def reset_stats(self) -> None:
        self.app.stats.reset()
        self.app.limits.peak = 0

    def more_controls(self, body: JSON) -> Mapping[str, Callable[[], Any]]:
        return {"GET /__sandbox/writes": lambda: [w.json() for w in self.writes()]}
