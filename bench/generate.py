#!/usr/bin/env python3
"""Deterministic synthetic CRM data for the leadsync benchmark (CONTRACT.md §1 records).

    python bench/generate.py --contacts 100000 --activities-per-contact 20 --out DIR [--seed 1]

writes ``DIR/contacts.jsonl``, ``DIR/activities.jsonl`` and ``DIR/owners.jsonl``. The same seed
and sizes always give byte-identical files.

What is in them:

* owners ``u1``..``u20``; ``u19`` and ``u20`` are inactive, some have ``capacity_per_day``;
* companies shared by several contacts (a few big accounts with many), each with one web
  domain, size (1-20,000 employees), industry and country; some companies have an account
  owner, so routing's account match has something to find; about a fifth of contacts use a
  free-mail address (gmail.com, hotmail.com, ...);
* contacts created over the 18 months before ``--now``, stages mostly ``lead``/null with some
  ``mql``, ``sql``, ``nurture``, ``opportunity``, ``customer`` and ``disqualified`` (with the
  ``mql_at``/``sql_at``/``assigned_at``/reason a CRM would hold), BANT answers and a department
  under ``properties``; contacts are written in generation order, which is not ``id`` order;
* exactly N activities per contact of every built-in type, mostly in the last 120 days, about
  1% after ``--now``, sales touches carrying an ``owner_id``; about 0.5% of the activity lines
  are a second copy of an earlier activity (same id), and the file is shuffled: not grouped by
  contact, not in time order;
* most timestamps end in ``Z``; some carry an offset such as ``+01:00`` or ``-05:00``.

Memory stays small: records are written as they are made; the activity shuffle goes through
temporary bucket files next to the output (an external shuffle), removed at the end.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from vocabulary import (
    ASCII,
    ASSETS,
    BUDGET,
    CAMPAIGNS,
    CITIES,
    COUNTRIES,
    DEPARTMENT_BY_WORD,
    DEPARTMENTS,
    DQ_REASONS,
    FIRST,
    FORMS,
    FREE_MAIL,
    INDUSTRIES,
    LANG,
    LAST,
    LEAD_SOURCES,
    NEEDS,
    NURTURE_REASONS,
    OFFSETS,
    OUTCOMES,
    OWNER_NAMES,
    PAGES,
    PICK_OWNED,
    PICK_UNOWNED,
    PRICING,
    ROLE,
    STAGES,
    SUBJECTS,
    SUFFIX,
    SYL_A,
    SYL_B,
    TIMELINE,
    TITLES,
    TLDS,
    VENDOR,
    WEBINARS,
)

DEFAULT_NOW = "2026-11-23T10:00:00Z"
DAY = 86_400
MONTH = 30 * DAY
_NL = orjson.OPT_APPEND_NEWLINE


# --------------------------------------------------------------------------- helpers


def parse_now(text: str) -> int:
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        raise SystemExit(f"--now `{text}` has no offset; add `Z` for UTC")
    return int(ts.timestamp())


def fmt(ts: int, offset_min: int = 0) -> str:
    """ISO 8601 with ``Z`` (offset 0) or ``+HH:MM``, the same instant either way."""
    if not offset_min:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
    sign = "+" if offset_min > 0 else "-"
    a = abs(offset_min)
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts + offset_min * 60))
    return f"{local}{sign}{a // 60:02d}:{a % 60:02d}"


# --------------------------------------------------------------------------- owners


def owners(n: int = 20) -> list[dict[str, Any]]:
    out = []
    for i in range(1, n + 1):
        name = OWNER_NAMES[(i - 1) % len(OWNER_NAMES)]
        team = "enterprise" if i <= 6 else "smb" if i <= 14 else "inbound"
        region = "emea" if i % 3 else "americas"
        out.append(
            {
                "id": f"u{i}",
                "name": name,
                "email": name.lower().translate(ASCII).replace(" ", ".") + "@acme-revenue.example",
                "active": i <= n - 2,  # the last two have left the company
                "teams": [team, region],
                "capacity_per_day": [None, None, 40, None, 25, None, 60][i % 7],
            }
        )
    return out


# --------------------------------------------------------------------------- generation


class Generator:
    def __init__(self, contacts: int, per_contact: int, seed: int, now: int) -> None:
        self.n = contacts
        self.k = per_contact
        self.now = now
        self.rng = random.Random(seed)
        self.owners = owners()
        self.active_owner_ids = [o["id"] for o in self.owners if o["active"]]
        self.all_owner_ids = [o["id"] for o in self.owners]
        self.companies = self._companies(max(1, contacts // 4))

    # -- companies ------------------------------------------------------------------
    def _companies(self, n: int) -> list[tuple[Any, ...]]:
        rng = self.rng
        seen: set[str] = set()
        out = []
        log_max = math.log(20_000)
        for _ in range(n):
            country = COUNTRIES(rng.random)
            base = rng.choice(SYL_A) + rng.choice(SYL_B)
            slug = base.lower()
            domain = slug + TLDS[country]
            i = 2
            while domain in seen:
                domain = f"{slug}{i}{TLDS[country]}"
                i += 1
            seen.add(domain)
            name = f"{base} {rng.choice(SUFFIX[country])}" if rng.random() < 0.7 else base
            employees = None if rng.random() < 0.05 else round(math.exp(rng.random() * log_max))
            u = rng.random()
            if u < 0.22:
                account_owner = rng.choice(self.active_owner_ids)
            elif u < 0.25:
                account_owner = rng.choice(self.all_owner_ids[-2:])  # an owner who has left
            else:
                account_owner = None
            out.append(
                (
                    name,
                    domain,
                    max(1, employees) if employees else employees,
                    rng.choice(INDUSTRIES),
                    country,
                    rng.choice(CITIES[country]),
                    account_owner,
                )
            )
        return out

    # -- contacts -------------------------------------------------------------------
    def contacts(self) -> Any:
        """Yield (contact dict, owner_id, created ts, activity weights pick) per contact."""
        rng = self.rng
        rand = rng.random
        now = self.now
        ncomp = len(self.companies)
        width = max(6, len(str(self.n)))
        ids = list(range(1, self.n + 1))
        rng.shuffle(ids)  # written in generation order, which is not id order
        span = 18 * MONTH
        for i in range(self.n):
            cid = f"c{ids[i]:0{width}d}"
            # A few big accounts with many contacts, a long tail of small ones.
            comp = self.companies[min(int(ncomp * rand() ** 1.6), ncomp - 1)]
            cname, cdomain, employees, industry, country, city, account_owner = comp
            lang = LANG[country]
            first = rng.choice(FIRST[lang])
            last = rng.choice(LAST[lang])
            title = TITLES(rand)
            student = title is not None and ("tudent" in title or title == "Intern")
            local = f"{first}.{last}".lower().translate(ASCII).replace(" ", "")
            u = rand()
            free_mail = u < (0.75 if student else 0.18)
            if u > 0.99:
                email = None
            elif free_mail:
                email = f"{local}{rng.randint(1, 999) if rand() < 0.5 else ''}@{rng.choice(FREE_MAIL)}"
            else:
                email = f"{local}@{cdomain}"
            if free_mail or email is None:
                domain = None if rand() < 0.8 else cdomain
                company = None if student or rand() < 0.3 else cname
            else:
                domain = cdomain if rand() < 0.5 else None  # else derived from email
                company = cname
            # created_at over the last 18 months, more of them recent
            created = now - int(span * rand() ** 1.3) - rng.randint(0, 3600)
            tz = OFFSETS[country] if rand() < 0.1 else 0

            stage = STAGES(rand)
            if student and stage in ("opportunity", "customer", "sql"):
                stage = "lead"
            stage_changed = mql_at = sql_at = assigned_at = None
            reason = None
            if stage not in (None, "lead"):
                stage_changed = created + int((now - created) * (0.2 + 0.8 * rand()))
                if stage in ("mql", "sql", "opportunity", "customer") or (
                    stage == "nurture" and rand() < 0.6
                ):
                    mql_at = (
                        stage_changed
                        if stage == "mql"
                        else (created + int((stage_changed - created) * rand()))
                    )
                if stage in ("sql", "opportunity", "customer"):
                    sql_at = (
                        stage_changed if stage == "sql" else (mql_at + int((stage_changed - mql_at) * rand()))
                    )
                if stage == "disqualified":
                    reason = "student" if student else DQ_REASONS(rand)
                elif stage == "nurture":
                    reason = NURTURE_REASONS(rand)
            # Owner: the account's owner is often kept, worked stages mostly have one.
            worked = stage in ("mql", "sql", "opportunity", "customer", "nurture")
            if account_owner is not None and rand() < 0.7:
                owner_id = account_owner
            elif rand() < (0.75 if worked else 0.04):
                owner_id = rng.choice(self.all_owner_ids if rand() < 0.05 else self.active_owner_ids)
            else:
                owner_id = None
            if owner_id is not None:
                base_t = mql_at if mql_at is not None else created
                assigned_at = base_t + rng.randint(60, 3 * DAY) if rand() < 0.8 else None
                if assigned_at is not None and assigned_at > now:
                    assigned_at = max(created, now - 60)
            props: dict[str, Any] = {}
            if title is not None:
                dept = next((d for w, d in DEPARTMENT_BY_WORD if w in title), None)
                if dept is None and rand() < 0.5:
                    dept = rng.choice(DEPARTMENTS)
                props["department"] = dept
            if not student or rand() < 0.3:
                props["budget_status"] = BUDGET(rand)
                props["buying_role"] = ROLE(rand)
                props["need"] = rng.choice(NEEDS) if rand() < 0.45 else None
                props["timeline"] = TIMELINE(rand)
                if rand() < 0.25:  # some CRMs leave unanswered questions out entirely
                    del props[rng.choice(("budget_status", "buying_role", "need", "timeline"))]
            if rand() < 0.3:
                props["utm_campaign"] = rng.choice(CAMPAIGNS)
            contact = {
                "id": cid,
                "email": email,
                "first_name": first,
                "last_name": last,
                "title": title,
                "company": company,
                "industry": industry if company is not None else None,
                "country": country if rand() < 0.95 else None,
                "city": city if rand() < 0.8 else None,
                "lead_source": LEAD_SOURCES(rand),
                "domain": domain,
                "employees": employees if company is not None else None,
                "created_at": fmt(created, tz),
                "stage": stage,
                "stage_changed_at": None if stage_changed is None else fmt(stage_changed, tz),
                "score": None if rand() < 0.35 else rng.randint(-20, 180),
                "owner_id": owner_id,
                "disqualification_reason": reason,
                "mql_at": None if mql_at is None else fmt(mql_at),
                "sql_at": None if sql_at is None else fmt(sql_at),
                "assigned_at": None if assigned_at is None else fmt(assigned_at),
                "properties": props,
            }
            pick = PICK_OWNED if (owner_id is not None or worked) else PICK_UNOWNED
            yield contact, owner_id, created, pick

    # -- activities -----------------------------------------------------------------
    def activities(self, cid: str, owner_id: str | None, created: int, pick: Any, seq: int) -> Any:
        """Yield this contact's activity dicts; ``seq`` numbers their ids."""
        rng = self.rng
        rand = rng.random
        randint = rng.randint
        now = self.now
        recent = now - 120 * DAY
        start = max(created, recent)
        # Some contacts went quiet a while ago (decay, archive), others are active right now.
        end = now - randint(30 * DAY, 100 * DAY) if rand() < 0.15 else now
        if end <= start:
            end = now
        older = created < recent
        for j in range(self.k):
            u = rand()
            if u < 0.01:
                at = now + randint(60, 30 * DAY)  # in the future: clock skew, bad imports
            elif u < 0.13 and older:
                at = randint(created, recent)
            else:
                at = randint(start, end)
            v = rand()
            tz = 0 if v < 0.93 else (60 if v < 0.97 else -300)
            kind = pick(rand)
            props: dict[str, Any]
            touch_owner = None
            if kind == "page_view":
                path = rng.choice(PRICING) if rand() < 0.15 else rng.choice(PAGES)
                props = {"url": VENDOR + path, "duration_s": randint(2, 400)}
            elif kind == "email_open":
                props = {"campaign": rng.choice(CAMPAIGNS)}
            elif kind == "email_click":
                path = rng.choice(PRICING) if rand() < 0.15 else rng.choice(PAGES)
                props = {"campaign": rng.choice(CAMPAIGNS), "url": VENDOR + path}
            elif kind == "form_submission":
                props = {"form": FORMS(rand), "url": VENDOR + rng.choice(PAGES)}
            elif kind == "content_download":
                asset = ASSETS(rand)
                props = {"asset_type": asset, "asset": f"{asset}-{randint(1, 12)}"}
            elif kind == "webinar_attended":
                props = {"webinar": rng.choice(WEBINARS), "completed": rand() < 0.6}
            elif kind == "demo_request":
                props = {"form": "demo", "url": VENDOR + "/demo"}
            elif kind == "call":
                outcome = OUTCOMES(rand)
                props = {
                    "outcome": outcome,
                    "duration_s": randint(60, 1800) if outcome == "connected" else randint(0, 40),
                }
                touch_owner = True
            elif kind == "email_sent":
                props = {"subject": rng.choice(SUBJECTS)}
                touch_owner = True
            elif kind == "meeting":
                props = {"duration_s": rng.choice((900, 1800, 2700, 3600))}
                touch_owner = True
            elif kind == "email_bounce":
                props = {"bounce_type": "hard" if rand() < 0.7 else "soft"}
            elif kind == "meeting_booked":
                props = {"meeting_type": "discovery" if rand() < 0.7 else "demo"}
            else:  # email_reply, unsubscribe
                props = {}
            if touch_owner:
                # Mostly the contact's owner; sometimes a colleague covered, or nobody is owner yet.
                touch_owner = (
                    owner_id if owner_id is not None and rand() < 0.9 else rng.choice(self.all_owner_ids)
                )
            else:
                touch_owner = None
            yield {
                "id": f"a{seq + j:09d}",
                "contact_id": cid,
                "type": kind,
                "at": fmt(at, tz),
                "owner_id": touch_owner,
                "properties": props,
            }


def generate(
    contacts: int,
    per_contact: int,
    out: Path,
    seed: int = 1,
    now: str = DEFAULT_NOW,
    duplicate_rate: float = 0.005,
    quiet: bool = False,
) -> dict[str, int]:
    """Write the three files into ``out``; return line counts."""
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    gen = Generator(contacts, per_contact, seed, parse_now(now))
    rng = random.Random(seed * 1_000_003 + 7)  # the shuffle's own stream
    dumps = orjson.dumps

    with (out / "owners.jsonl").open("wb") as f:
        for o in gen.owners:
            f.write(dumps(o, option=_NL))

    total = contacts * per_contact
    nbuckets = max(1, min(256, -(-total // 40_000)))  # ~40k lines (~10 MB) per bucket
    n_acts = n_dups = 0
    with tempfile.TemporaryDirectory(prefix=".shuffle-", dir=out) as tmp:
        buckets = [
            open(os.path.join(tmp, f"{b:03d}"), "wb", buffering=1 << 18)  # noqa: SIM115
            for b in range(nbuckets)
        ]
        try:
            with (out / "contacts.jsonl").open("wb", buffering=1 << 20) as cf:
                seq = 1
                brand = rng.random
                for contact, owner_id, created, pick in gen.contacts():
                    cf.write(dumps(contact, option=_NL))
                    for act in gen.activities(contact["id"], owner_id, created, pick, seq):
                        line = dumps(act, option=_NL)
                        buckets[int(brand() * nbuckets)].write(line)
                        if brand() < duplicate_rate:  # the CRM exported it twice
                            buckets[int(brand() * nbuckets)].write(line)
                            n_dups += 1
                    seq += per_contact
                    n_acts += per_contact
        finally:
            for b in buckets:
                b.close()
        with (out / "activities.jsonl").open("wb", buffering=1 << 20) as af:
            for b in range(nbuckets):
                path = os.path.join(tmp, f"{b:03d}")
                with open(path, "rb") as f:
                    lines = f.read().splitlines(keepends=True)
                os.unlink(path)
                rng.shuffle(lines)
                af.writelines(lines)
    counts = {
        "contacts": contacts,
        "activities": n_acts,
        "duplicate_lines": n_dups,
        "activity_lines": n_acts + n_dups,
        "owners": len(gen.owners),
    }
    if not quiet:
        secs = time.perf_counter() - t0
        size = sum((out / f).stat().st_size for f in ("contacts.jsonl", "activities.jsonl", "owners.jsonl"))
        print(
            f"wrote {out}: {contacts:,} contacts, {n_acts:,} activities "
            f"(+{n_dups:,} repeated lines), {len(gen.owners)} owners; "
            f"{size / 2**20:,.1f} MiB in {secs:.1f} s",
            file=sys.stderr,
        )
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--activities-per-contact", type=int, default=20)
    p.add_argument("--out", type=Path, required=True, help="directory to write the files into")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--now",
        default=DEFAULT_NOW,
        help=f"the evaluation time the data is built around (default {DEFAULT_NOW})",
    )
    p.add_argument(
        "--duplicate-rate",
        type=float,
        default=0.005,
        help="share of activities written twice with the same id (default 0.005)",
    )
    a = p.parse_args(argv)
    if a.contacts < 1 or a.activities_per_contact < 0:
        p.error("--contacts must be >= 1 and --activities-per-contact >= 0")
    generate(a.contacts, a.activities_per_contact, a.out, a.seed, a.now, a.duplicate_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
