"""The owner ids a rules file names, and the owners routing may use given the CRM's own list.

A rules file names owners by the CRM's ids (routing pools and their weights). An id the CRM does
not have can never be written: the CRM refuses the whole write. So where the CRM's owner list is
known (the daemon, ``explain``), every id the rules name that is not in it is given to the engine
as an owner record with ``active: false`` — CONTRACT §4 then skips it in round robin and weights,
and account matching never hands it on. ``evaluate`` keeps the contract's reading of an owners
file (an owner missing from it counts as active); this module only adds records, never reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from leadsync.model import Owner

__all__ = ["OwnerRef", "UnknownOwner", "routable_owners", "unknown_owners"]


@dataclass(frozen=True)
class OwnerRef:
    """One place the rules file names an owner id: ``FILE:LINE`` and what it is there."""

    owner_id: str
    file: str
    line: int
    where: str  # e.g. "routing pool `enterprise`", "weight in routing pool `default`"

    def at(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class UnknownOwner:
    """An owner id the rules name that the CRM's owner list lacks, with every place it appears."""

    owner_id: str
    refs: tuple[OwnerRef, ...]

    def places(self) -> str:
        """``rules.yaml:31 (routing pool `default`), rules.yaml:32 (...)``."""
        return ", ".join(f"{r.at()} ({r.where})" for r in self.refs)


def unknown_owners(refs: tuple[OwnerRef, ...], crm_owners: Mapping[str, Owner]) -> list[UnknownOwner]:
    """The ids of ``refs`` not among ``crm_owners``, in the order the rules first name them."""
    found: dict[str, list[OwnerRef]] = {}
    for ref in refs:
        if ref.owner_id not in crm_owners:
            found.setdefault(ref.owner_id, []).append(ref)
    return [UnknownOwner(oid, tuple(places)) for oid, places in found.items()]


def routable_owners(refs: tuple[OwnerRef, ...], crm_owners: Mapping[str, Owner]) -> dict[str, Owner]:
    """The CRM's owners, plus an inactive record for each id the rules name that the CRM lacks.

    An empty CRM list stays empty: without owners nobody is routed (CONTRACT §4), as before.
    """
    owners = dict(crm_owners)
    if not owners:
        return owners
    for unknown in unknown_owners(refs, crm_owners):
        owners[unknown.owner_id] = Owner(id=unknown.owner_id, active=False)
    return owners
