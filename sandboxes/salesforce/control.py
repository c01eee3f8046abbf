"""The Salesforce sandbox's back door: what tests and benchmarks do to the org besides calling the
API. Each method here is also ``POST /__sandbox/<method>`` with its arguments as JSON (positional
ones as ``"args": [...]``).
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from datetime import datetime
from typing import Any

from leadsync.sandboxes.kit.clock import SandboxClock
from leadsync.sandboxes.kit.sandbox import Sandbox
from leadsync.sandboxes.salesforce.backdoor import convert_lead as _convert
from leadsync.sandboxes.salesforce.backdoor import edit
from leadsync.sandboxes.salesforce.common import JSON
from leadsync.sandboxes.salesforce.http import SalesforceApp
from leadsync.sandboxes.salesforce.limits import Limits
from leadsync.sandboxes.salesforce.store import Record
from leadsync.sandboxes.salesforce.values import check_value, from_json, to_json

__all__ = ["Controls"]


class Controls(Sandbox[SalesforceApp, Limits]):
    """``SalesforceSandbox``'s back door (``kit.sandbox.Sandbox`` adds faults, stats, the
    ``/__sandbox`` table, serving and resetting)."""

    clock: SandboxClock

    CONTROLS = frozenset(
        [
            "set_field",
            "touch_system",
            "delete",
            "undelete",
            "convert_lead",
            "reject_writes",
            "lock_rows",
            "set_field_access",
            "grant_field",
            "revoke_field",
            "expire_sessions",
            "advance",
            "purge_deleted",
            "set_api_usage",
            "set_metadata_access",
            "set_fls",
            "set_assignment",
            "track_history",
            "set_soap_login",
            "set_bulk_delay",
            "clear_faults",
            "new_session",
        ]
    )

    # -- records -------------------------------------------------------------------------------

    def records(self, otype: str, deleted: bool = True) -> dict[str, Record]:
        """Records of one sObject by id (copies, Python values), for assertions."""
        with self.app.org.lock:
            return {
                rid: {k: v for k, v in rec.items() if not k.startswith("_")}
                for rid, rec in self.app.org.table(otype).items()
                if deleted or not rec.get("IsDeleted")
            }

    def records_json(self, otype: str) -> dict[str, JSON]:
        return {rid: {k: to_json(v) for k, v in rec.items()} for rid, rec in self.records(otype).items()}

    def record(self, rid: str) -> Record:
        found = self.app.org.find(rid)
        if found is None:
            raise KeyError(rid)
        return found[1]

    def users(self, active: bool | None = None) -> list[Record]:
        return [dict(u) for u in self.app.org.rows("User") if active is None or u["IsActive"] == active]

    def queues(self) -> dict[str, str]:
        """Queue name → id."""
        return {g["Name"]: g["Id"] for g in self.app.org.rows("Group") if g["Type"] == "Queue"}

    def json_value(self, value: Any) -> Any:
        return to_json(value)

    # -- people and automation -----------------------------------------------------------------

    def set_field(self, otype: str, rid: str, field: str, value: Any, system: bool = False) -> Record:
        """A person changes a field in Salesforce (``system=True``: automation, only SystemModstamp)."""
        org = self.app.org
        with org.lock:
            obj = org.obj(otype)
            f = obj.field(field)
            rec = org.get(obj.name, rid)
            if f is None or rec is None:
                raise KeyError(f"{otype}.{field}" if f is None else rid)
            parsed = (
                value if isinstance(value, datetime) or not isinstance(value, str) else from_json(f, value)
            )
            edit(org, obj.name, rec, {f.name: check_value(f, parsed)}, system=system)
            return dict(rec)

    def touch_system(self, rid: str) -> Record:
        """A workflow or roll-up touched the record: SystemModstamp moves, nothing else."""
        org = self.app.org
        with org.lock:
            found = org.find(rid)
            if found is None:
                raise KeyError(rid)
            org.touch(found[1])
            return dict(found[1])

    def delete(self, rid: str) -> list[str]:
        """Delete as a person would (recycle bin, delete log); returns every id deleted with it."""
        org = self.app.org
        with org.lock:
            otype, rec = self._found(rid)
            return org.delete(otype, rec, org.admin_user)

    def undelete(self, rid: str) -> None:
        org = self.app.org
        with org.lock:
            otype, rec = self._found(rid)
            org.undelete(otype, rec, org.admin_user)

    def _found(self, rid: str) -> tuple[str, Record]:
        found = self.app.org.find(rid)
        if found is None:
            raise KeyError(rid)
        return found

    def convert_lead(
        self, lead_id: str, status: str | None = None, account_id: str | None = None
    ) -> dict[str, str]:
        """Convert a lead as a person would: ``{"ContactId", "AccountId"}``."""
        org = self.app.org
        with org.lock:
            lead = org.get("Lead", lead_id)
            if lead is None:
                raise KeyError(lead_id)
            return _convert(org, lead, status=status, account_id=account_id)

    def purge_deleted(self, otype: str | None = None, before: datetime | str | None = None) -> None:
        """Empty the recycle bin and delete log: ``earliestDateAvailable`` moves, clients must resync."""
        when = datetime.fromisoformat(before) if isinstance(before, str) else before
        self.app.org.purge_deleted(otype, when)

    # -- what the org refuses ------------------------------------------------------------------

    def reject_writes(self, *ids: str, reject: bool = True) -> None:
        """A validation rule refuses API writes to these records (``FIELD_CUSTOM_VALIDATION_EXCEPTION``)."""
        org = self.app.org
        with org.lock:
            for rid in ids:
                full = self._found(rid)[1]["Id"]
                (org.rejected.add if reject else org.rejected.discard)(full)

    def lock_rows(self, n: int = 0, ids: list[str] | tuple[str, ...] = (), unlock: bool = False) -> None:
        """``UNABLE_TO_LOCK_ROW`` for the next ``n`` record writes, or on ``ids`` until ``unlock``."""
        org = self.app.org
        with org.lock:
            org.lock_next = 0 if unlock else org.lock_next + n
            for rid in ids:
                full = self._found(rid)[1]["Id"]
                (org.locked.discard if unlock else org.locked.add)(full)
            if unlock and not ids:
                org.locked.clear()

    def set_field_access(self, otype: str, field: str, access: str | None) -> None:
        """The API user's profile access to a field: ``edit``, ``read`` (read-only), ``none`` (hidden),
        or ``None`` (back to the default)."""
        org = self.app.org
        obj = org.obj(otype)
        if obj.field(field) is None:
            raise KeyError(f"{otype}.{field}")
        org.access.set_profile(obj.name, field, access)

    def grant_field(self, otype: str, field: str, edit: bool = True) -> None:
        self.set_field_access(otype, field, "edit" if edit else "read")

    def revoke_field(self, otype: str, field: str) -> None:
        self.set_field_access(otype, field, "none")

    def set_fls(self, enforce: bool) -> None:
        """Field-level security on new custom fields: on (Salesforce) or off (every field visible)."""
        self.app.org.access.enforce = enforce

    def set_metadata_access(self, allow: bool) -> None:
        """Whether the API user has "Customize Application" (Tooling API writes)."""
        self.app.org.allow_metadata = allow

    def track_history(self, otype: str, field: str, on: bool = True) -> list[str]:
        """The admin turns field history tracking on (or off) for a field of Lead or Contact, as in
        Set History Tracking; returns the object's tracked fields. More than 20 is an ``SfError``
        (400 ``FIELD_INTEGRITY_EXCEPTION``), as Salesforce refuses it."""
        org = self.app.org
        with org.lock:
            obj = org.obj(otype)
            f = obj.field(field)
            if f is None:
                raise KeyError(f"{otype}.{field}")
            if f.system:
                raise ValueError(f"{obj.name}.{f.name} cannot be tracked")
            if not org.set_tracked(obj.name, f.name, bool(on)):
                raise ValueError(f"the sandbox keeps no field history for {obj.name}")
            return list(org.tracked[obj.name])

    def set_assignment(self, owner_id: str | None) -> None:
        """Where the active Lead assignment rule sends leads (a queue or user id); None turns it off."""
        self.app.org.assignment_owner = self._found(owner_id)[1]["Id"] if owner_id else None

    # -- sessions, clock, limits, stats ----------------------------------------------------

    def new_session(self, username: str | None = None) -> str:
        """A bearer token for the API user (or another user), without going through OAuth."""
        org = self.app.org
        user = next((u for u in org.rows("User") if u["Username"] == username), None) if username else None
        return self.app.auth.new_session(user["Id"] if user else org.api_user, "backdoor").token

    def expire_sessions(self) -> int:
        """Every session so far ends: the next call with it is 401 ``INVALID_SESSION_ID``."""
        return self.app.auth.expire_all()

    def set_soap_login(self, enabled: bool) -> None:
        self.app.auth.soap_login = enabled

    def jwt_keypair(self) -> tuple[str, str]:
        """A new RSA key pair for the JWT bearer flow, the public half registered: (private, public) PEM."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.register_jwt_key(public)
        return private, public

    def register_jwt_key(self, pem: str) -> None:
        """Register a public key or X.509 certificate (PEM) for the connected app's JWT flow."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        data = pem.encode()
        key = (
            x509.load_pem_x509_certificate(data).public_key()
            if b"CERTIFICATE" in data
            else serialization.load_pem_public_key(data)
        )
        self.app.auth.jwt_keys.append(key)

    def advance(self, seconds: float) -> str:
        """Move the org's clock forward (session timeouts, query locators, the rolling API window)."""
        return str(to_json(self.clock.advance(seconds)))

    def set_limits(self, **changes: Any) -> JSON:
        """Change allowances (see ``Limits``); also ``used=`` (API calls in the last 24 h)."""
        used = changes.pop("used", None)
        known = {f.name for f in fields(Limits)}
        if set(changes) - known:
            raise ValueError(f"unknown limits {sorted(set(changes) - known)}; known: {sorted(known)}")
        for name, value in changes.items():
            setattr(self.app.limits.limits, name, int(value))
        if used is not None:
            self.app.limits.set_usage(used=int(used))
        return {**asdict(self.app.limits.limits), **self.app.limits.usage()}

    def set_api_usage(self, used: int | None = None, maximum: int | None = None) -> JSON:
        """Pretend ``used`` API calls were made just now; set the daily maximum."""
        return self.app.limits.set_usage(used, maximum)

    def set_bulk_delay(self, seconds: float) -> None:
        self.app.jobs.delay = float(seconds)

    def more_stats(self) -> JSON:
        """Besides requests, faults and refusals: ``Sforce-Auto-Assign`` seen on writes
        (``"PATCH /services/data/vXX.X/composite/sobjects: FALSE"``) and the API usage."""
        return {"api_usage": self.app.limits.usage()}

    def restore_limits(self, limits: Limits) -> None:
        self.app.limits.limits = replace(limits)
        self.app.limits.reset()
