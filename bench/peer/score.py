#!/usr/bin/env python3
"""The dataframe peer: the scoring step of bant.yaml or smarketing-2h.yaml, written plainly in polars.

    python bench/peer/score.py --playbook bant --contacts C.jsonl --activities A.jsonl \
        --now 2026-11-23T10:00:00Z --out scores.csv

What a RevOps engineer writes in an afternoon to get the scores `leadsync evaluate` gives, from the
same JSON Lines files (CONTRACT.md §1, §3-4): fit + engagement (with `min_count`, and `per:
occurrence` up to `max_points`) + decay, then the floor. It writes one CSV row per contact:
contact_id, score, fit_score, engagement_score, decay. The rules are written out by hand below, one
function per playbook, not read from the YAML. It is the bar `bench/versus.py` holds leadsync's
whole decision procedure to, so it is untuned: one thread (POLARS_MAX_THREADS=1), the obvious
expressions, no tricks on the input files.

It runs in its own environment (bench/peer/requirements.txt; see bench/README.md), not leadsync's.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # before polars starts its thread pool

import polars as pl

# Done by the contact (CONTRACT.md §1); sales touches (call, email_sent, meeting) never reset inactivity.
CONTACT_DONE = [
    "page_view",
    "form_submission",
    "content_download",
    "webinar_attended",
    "demo_request",
    "email_open",
    "email_click",
    "email_reply",
    "meeting_booked",
    "unsubscribe",
    "email_bounce",
]

CONTACT_SCHEMA = {
    "id": pl.String,
    "title": pl.String,
    "employees": pl.Int64,
    "created_at": pl.String,
    "properties": pl.Struct({"department": pl.String}),
}
ACTIVITY_SCHEMA = {
    "id": pl.String,
    "contact_id": pl.String,
    "type": pl.String,
    "at": pl.String,
    "properties": pl.Struct({"url": pl.String, "asset_type": pl.String, "completed": pl.Boolean}),
}


def read(contacts_path: str, activities_path: str, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Contacts, and the activities that count: one row per (contact, activity id), the last one
    in the file winning, at or before ``now``."""
    contacts = pl.read_ndjson(contacts_path, schema=CONTACT_SCHEMA).with_columns(
        pl.col("created_at").str.to_datetime(time_zone="UTC"),
        pl.col("properties").struct.field("department"),
    )
    activities = (
        pl.read_ndjson(activities_path, schema=ACTIVITY_SCHEMA)
        .with_columns(pl.col("at").str.to_datetime(time_zone="UTC"))
        .unique(subset=["contact_id", "id"], keep="last")
        .filter(pl.col("at") <= now)
        .unnest("properties")
    )
    return contacts, activities


def text(name: str) -> pl.Expr:
    """A text field, with an empty one counted as missing (a missing value matches nothing here)."""
    return pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name))


def idle_days(contacts: pl.DataFrame, activities: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Whole days since the last contact-done activity, else since created_at, per contact."""
    last = (
        activities.filter(pl.col("type").is_in(CONTACT_DONE))
        .group_by("contact_id")
        .agg(pl.col("at").max().alias("last_done"))
    )
    return (
        contacts.join(last, left_on="id", right_on="contact_id", how="left")
        .with_columns(
            idle=(pl.lit(now) - pl.coalesce("last_done", "created_at")).dt.total_microseconds()
            // 86_400_000_000
        )
        .select("id", "idle")
    )


def bant(contacts: pl.DataFrame, activities: pl.DataFrame, now: datetime) -> pl.DataFrame:
    counts = activities.group_by("contact_id").agg(
        pricing=(
            (pl.col("type") == "page_view") & pl.col("url").str.contains("/pricing", literal=True)
        ).sum(),
        case_study=((pl.col("type") == "content_download") & (text("asset_type") == "case_study")).sum(),
        full_webinar=((pl.col("type") == "webinar_attended") & (pl.col("completed") == True)).sum(),  # noqa: E712
    )
    fit = (
        text("title").str.contains(r"(?i)\bdirector\b")
        & (text("department") == "IT")
        & (pl.col("employees") > 500)
    ).fill_null(False).cast(pl.Int64) * 50
    engagement = (
        (pl.col("pricing") >= 1).cast(pl.Int64) * 15
        + (pl.col("case_study") >= 1).cast(pl.Int64) * 10
        + (pl.col("full_webinar") >= 1).cast(pl.Int64) * 25
    )
    # After 30 quiet days: -10, and -10 more for each further 30.
    decay = pl.when(pl.col("idle") >= 30).then(-10 * (1 + (pl.col("idle") - 30) // 30)).otherwise(0)
    return (
        contacts.join(counts, left_on="id", right_on="contact_id", how="left")
        .join(idle_days(contacts, activities, now), on="id")
        .with_columns(pl.col("pricing", "case_study", "full_webinar").fill_null(0))
        .select(
            contact_id="id",
            fit_score=fit,
            engagement_score=engagement,
            decay=decay,
        )
        .with_columns(
            score=(pl.col("fit_score") + pl.col("engagement_score") + pl.col("decay")).clip(lower_bound=0)
        )
    )


def smarketing_2h(contacts: pl.DataFrame, activities: pl.DataFrame, now: datetime) -> pl.DataFrame:
    counts = activities.group_by("contact_id").agg(
        pricing=(
            (pl.col("type") == "page_view") & pl.col("url").str.contains("/pricing", literal=True)
        ).sum(),
        demo=(pl.col("type") == "demo_request").sum(),
    )
    title = text("title")
    fit = (
        title.str.contains(r"(?i)\bceo\b").fill_null(False).cast(pl.Int64) * 10
        + title.str.contains(r"(?i)student|estudiante").fill_null(False).cast(pl.Int64) * -50
    )
    # +20 a pricing page visit, at most 40; +50 for a demo request.
    engagement = pl.min_horizontal(pl.col("pricing") * 20, 40) + (pl.col("demo") >= 1).cast(pl.Int64) * 50
    return (
        contacts.join(counts, left_on="id", right_on="contact_id", how="left")
        .with_columns(pl.col("pricing", "demo").fill_null(0))
        .select(contact_id="id", fit_score=fit, engagement_score=engagement, decay=pl.lit(0))
        .with_columns(score=pl.col("fit_score") + pl.col("engagement_score") + pl.col("decay"))
    )


PLAYBOOKS = {"bant": bant, "smarketing-2h": smarketing_2h}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--playbook", required=True, choices=sorted(PLAYBOOKS))
    p.add_argument("--contacts", required=True)
    p.add_argument("--activities", required=True)
    p.add_argument("--now", required=True, help="e.g. 2026-11-23T10:00:00Z")
    p.add_argument("--out", required=True, help="CSV: contact_id,score,fit_score,engagement_score,decay")
    a = p.parse_args(argv)
    now = datetime.fromisoformat(a.now.replace("Z", "+00:00"))
    contacts, activities = read(a.contacts, a.activities, now)
    scores = PLAYBOOKS[a.playbook](contacts, activities, now)
    scores.select("contact_id", "score", "fit_score", "engagement_score", "decay").write_csv(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
