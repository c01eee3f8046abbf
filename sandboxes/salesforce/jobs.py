"""Bulk API 2.0 ingest jobs in the Salesforce sandbox: a job's state, and processing its CSV.

A closed job waits ``delay`` seconds (0.2 s by default) InProgress, so a client has to poll, and
is then processed row by row: each row gets the checks a collection record gets, a bad value fails
only its row (``INVALID_TYPE_ON_FIELD_IN_RECORD``), an unknown column fails the job
(``InvalidBatch``). An empty cell leaves the field alone and ``#N/A`` clears it. Assignment rules
run only for a job created with ``assignmentRuleId``. The endpoints are ``bulk``'s.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from leadsync.sandboxes.salesforce.common import JSON, KEY_PREFIXES, IdFactory, SfError, sf_datetime
from leadsync.sandboxes.salesforce.schema import ObjectDef
from leadsync.sandboxes.salesforce.store import Org, Record
from leadsync.sandboxes.salesforce.values import NO_CHANGE, from_csv
from leadsync.sandboxes.salesforce.writes import Actor, commit, find_by_external_id, prepare, visible

__all__ = ["DELIMITERS", "OPERATIONS", "BulkJobs", "Job"]

OPERATIONS = ("insert", "update", "upsert", "delete")
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}


@dataclass
class Job:
    """One ingest job, from creation to its results."""

    id: str
    object: str
    operation: str
    created_by: str
    created: datetime
    version: str
    external_id: str | None = None
    assignment_rule: str | None = None
    line_ending: str = "LF"
    delimiter: str = "COMMA"
    state: str = "Open"
    modstamp: datetime | None = None
    data: str | None = None
    header: list[str] = field(default_factory=list)
    ok: list[list[str]] = field(default_factory=list)  # sf__Id, sf__Created, row...
    failed: list[list[str]] = field(default_factory=list)  # sf__Id, sf__Error, row...
    unprocessed: list[list[str]] = field(default_factory=list)
    error: str | None = None
    ready_at: float = 0.0
    millis: int = 0

    def info(self, full: bool = True) -> JSON:
        out: JSON = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": sf_datetime(self.created),
            "systemModstamp": sf_datetime(self.modstamp or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "contentUrl": f"services/data/v{self.version}/jobs/ingest/{self.id}/batches",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
        }
        if self.external_id:
            out["externalIdFieldName"] = self.external_id
        if self.assignment_rule:
            out["assignmentRuleId"] = self.assignment_rule
        if full:
            out.update(
                jobType="V2Ingest",
                numberRecordsProcessed=len(self.ok) + len(self.failed),
                numberRecordsFailed=len(self.failed),
                retries=0,
                totalProcessingTime=self.millis,
                apiActiveProcessingTime=self.millis,
                apexProcessingTime=0,
            )
            if self.error:
                out["errorMessage"] = self.error
        return out


class BulkJobs:
    """The org's ingest jobs; ``delay`` is how long a closed job waits before it is processed."""

    def __init__(self, org: Org, delay: float = 0.2) -> None:
        self.org = org
        self.delay = delay
        self.jobs: dict[str, Job] = {}
        self._ids = IdFactory()

    def new_id(self) -> str:
        return self._ids.new(KEY_PREFIXES["Job"])

    def close(self, job: Job) -> None:
        job.state, job.ready_at = "UploadComplete", time.monotonic() + self.delay
        timer = threading.Timer(self.delay, self.settle, args=(job,))
        timer.daemon = True
        timer.start()

    def settle(self, job: Job) -> Job:
        """Move a closed job along: InProgress until its time comes, then processed."""
        with self.org.lock:
            if job.state in ("UploadComplete", "InProgress"):
                if time.monotonic() < job.ready_at:
                    job.state = "InProgress"
                else:
                    started = time.monotonic()
                    self._process(job)
                    job.millis = int((time.monotonic() - started) * 1000) + 1
                job.modstamp = self.org.now()
            return job

    def _process(self, job: Job) -> None:
        org = self.org
        obj = org.obj(job.object)
        rows = list(csv.reader(io.StringIO(job.data or ""), delimiter=DELIMITERS[job.delimiter]))
        header, rows = (rows[0], rows[1:]) if rows else ([], [])
        job.header = header
        seen = visible(org, obj, job.created_by)
        for name in header:
            f = obj.field(name)
            if f is None or f.name not in seen:
                job.state, job.error = "Failed", f"InvalidBatch : Field name not found : {name}"
                job.unprocessed = rows
                return
        need = {"update": "Id", "delete": "Id", "upsert": job.external_id}.get(job.operation)
        if need and need.lower() not in [h.lower() for h in header]:
            job.state, job.error = "Failed", f"InvalidBatch : Field name not found : {need}"
            job.unprocessed = rows
            return
        actor = Actor(job.created_by, auto_assign=job.assignment_rule is not None)
        for row in rows:
            if not any(row):
                continue
            try:
                rid, created = self._row(job, obj, dict(zip(header, row, strict=False)), actor)
                job.ok.append([rid, str(created).lower(), *row])
            except SfError as exc:
                given = next((v for h, v in zip(header, row, strict=False) if h.lower() == "id"), "")
                job.failed.append([given, f"{exc.code}:{exc.message}:{','.join(exc.fields)} --", *row])
        job.state = "JobComplete"

    def _row(self, job: Job, obj: ObjectDef, cells: dict[str, str], actor: Actor) -> tuple[str, bool]:
        org = self.org
        values: Record = {}
        rid = ""
        for name, text in cells.items():
            f = obj.field(name)
            assert f is not None
            if f.name == "Id":
                rid = text
                continue
            value = from_csv(f, text)
            if value is not NO_CHANGE:
                values[f.name] = value
        if job.operation == "insert":
            return commit(org, prepare(org, obj, None, values, actor), actor)["Id"], True
        if job.operation == "upsert":
            f = obj.field(job.external_id or "")
            assert f is not None
            matches = find_by_external_id(org, obj, f, values.get(f.name)) if values.get(f.name) else []
            if len(matches) > 1:
                raise SfError(
                    400,
                    "DUPLICATE_EXTERNAL_ID",
                    f"{f.name}: more than one record found for external id field",
                )
            rec = commit(org, prepare(org, obj, matches[0] if matches else None, values, actor), actor)
            return rec["Id"], not matches
        if not rid:
            raise SfError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        target = org.get(obj.name, rid)
        if target is None:
            raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
        rec = target
        if job.operation == "delete":
            if rec.get("IsDeleted"):
                raise SfError(400, "ENTITY_IS_DELETED", "entity is deleted")
            org.delete(obj.name, rec, actor.user_id)
            return rec["Id"], False
        return commit(org, prepare(org, obj, rec, values, actor), actor)["Id"], False
