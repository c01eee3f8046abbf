"""Bulk API 2.0 ingest in the Salesforce sandbox: insert, update, upsert and delete jobs of CSV.

Lifecycle (https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/walkthrough_upload_data.htm):
``POST jobs/ingest`` (Open) → ``PUT jobs/ingest/{id}/batches`` (text/csv, once, 201) → ``PATCH``
``{"state": "UploadComplete"}`` (or ``Aborted``) → InProgress → JobComplete, processed
``processing_delay`` seconds later (0.2 s by default) so a client has to poll → results as CSV:
``successfulResults`` (``"sf__Id","sf__Created",...``), ``failedResults``
(``"sf__Id","sf__Error",...``, the error as ``CODE:message:fields --``), ``unprocessedrecords``.
Each row gets the checks a collection record gets; a bad value fails only its row
(``INVALID_TYPE_ON_FIELD_IN_RECORD``), an unknown column fails the job (``InvalidBatch``): see
``jobs``. Bulk jobs ignore ``Sforce-Auto-Assign``: assignment rules run only for a job created
with ``assignmentRuleId``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from leadsync.sandboxes.kit.routing import Route
from leadsync.sandboxes.kit.server import Response
from leadsync.sandboxes.salesforce.common import SfError
from leadsync.sandboxes.salesforce.http import Call
from leadsync.sandboxes.salesforce.jobs import DELIMITERS, OPERATIONS, Job
from leadsync.sandboxes.salesforce.routing import Reply, no_content, not_found, route

__all__ = ["ROUTES"]

CSV_TYPE = "text/csv;charset=UTF-8"


def _job(call: Call) -> Job:
    job = call.app.jobs.jobs.get(call.params["id"])
    if job is None:
        raise not_found()
    return call.app.jobs.settle(job)


def _create(call: Call) -> Reply:
    body = call.json()
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    op = body.get("operation")
    obj = call.org.schema.get(str(body.get("object", "")))
    if op not in OPERATIONS:
        raise SfError(400, "INVALIDJOB", f"Invalid operation: {op}")
    if obj is None:
        raise SfError(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
    if body.get("contentType", "CSV") != "CSV" or body.get("lineEnding", "LF") not in ("LF", "CRLF"):
        raise SfError(400, "INVALIDJOB", "Only CSV content with LF or CRLF line endings is supported")
    if body.get("columnDelimiter", "COMMA") not in DELIMITERS:
        raise SfError(400, "INVALIDJOB", f"Invalid column delimiter: {body.get('columnDelimiter')}")
    ext = body.get("externalIdFieldName")
    if op == "upsert":
        f = obj.field(str(ext or ""))
        if not ext:
            raise SfError(
                400,
                "INVALIDJOB",
                f"External ID was blank for {obj.name}. An External ID must be specified for upsert.",
            )
        if f is None or not (f.external_id or f.type == "id"):
            raise SfError(
                400,
                "INVALIDJOB",
                f"Field name provided, {ext} is not an External ID or indexed field for {obj.name}",
            )
        ext = f.name
    jobs = call.app.jobs
    job = Job(
        jobs.new_id(),
        obj.name,
        op,
        call.user_id,
        call.org.now(),
        call.version,
        ext if op == "upsert" else None,
    )
    job.assignment_rule = body.get("assignmentRuleId")
    job.line_ending, job.delimiter = body.get("lineEnding", "LF"), body.get("columnDelimiter", "COMMA")
    jobs.jobs[job.id] = job
    return 200, job.info(full=False)


def _upload(call: Call) -> Reply:
    job = _job(call)
    if job.state != "Open" or job.data is not None:
        raise SfError(409, "INVALIDJOBSTATE", f"Unable to upload data to a job in state {job.state}")
    if "csv" not in (call.request.headers.get("Content-Type") or "").lower():
        raise SfError(400, "INVALIDJOB", "Content-Type must be text/csv")
    job.data = call.request.body.decode("utf-8")
    if job.line_ending == "CRLF":
        job.data = job.data.replace("\r\n", "\n")
    call.app.limits.take_batches(max(0, job.data.count("\n") - 1))
    return Response(201, b"", {}, None)


def _patch(call: Call) -> Reply:
    job = _job(call)
    state = (call.json() or {}).get("state")
    if state == "UploadComplete" and job.state == "Open":
        if job.data is None:
            job.state, job.error = "Failed", "InvalidBatch : no data uploaded"
        else:
            call.app.jobs.close(job)
    elif state == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
        job.state = "Aborted"
        job.unprocessed = list(csv.reader(io.StringIO(job.data or "")))[1:]
    else:
        raise SfError(409, "INVALIDJOBSTATE", f"Invalid state transition from {job.state} to {state}")
    job.modstamp = call.org.now()
    return 200, job.info(full=False)


def _info(call: Call) -> Reply:
    return 200, _job(call).info()


def _list(call: Call) -> Reply:
    return 200, {
        "done": True,
        "records": [j.info(full=False) for j in call.app.jobs.jobs.values()],
        "nextRecordsUrl": None,
    }


def _delete(call: Call) -> Reply:
    job = _job(call)
    if job.state not in ("UploadComplete", "JobComplete", "Aborted", "Failed"):
        raise SfError(409, "INVALIDJOBSTATE", f"Unable to delete a job in state {job.state}")
    del call.app.jobs.jobs[job.id]
    return no_content()


def _csv(header: list[str], rows: list[list[Any]]) -> Response:
    out = io.StringIO()
    out.write(",".join(f'"{h}"' if h.startswith("sf__") else h for h in header) + "\n")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(rows)
    return Response(200, out.getvalue().encode(), {}, CSV_TYPE)


def _results(kind: str) -> Any:
    def handler(call: Call) -> Reply:
        job = _job(call)
        if kind == "successfulResults":
            return _csv(["sf__Id", "sf__Created", *job.header], job.ok)
        if kind == "failedResults":
            return _csv(["sf__Id", "sf__Error", *job.header], job.failed)
        header = job.header or next(csv.reader(io.StringIO(job.data or "\n")), [])
        return _csv(header, job.unprocessed)

    return handler


_J = "/services/data/v{version}/jobs/ingest"
ROUTES: list[Route[Any]] = [
    route("POST", _J, _create),
    route("GET", _J, _list),
    route("GET", _J + "/{id}", _info),
    route("PATCH", _J + "/{id}", _patch),
    route("DELETE", _J + "/{id}", _delete),
    route("PUT", _J + "/{id}/batches", _upload),
    *[route("GET", f"{_J}/{{id}}/{kind}", _results(kind)) for kind in ("successfulResults", "failedResults")],
    route("GET", _J + "/{id}/unprocessedrecords", _results("unprocessedrecords")),
    route(
        "GET", _J + "/{id}/unprocessedRecords", _results("unprocessedrecords")
    ),  # simple-salesforce's spelling
]
