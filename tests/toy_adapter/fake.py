"""The toy CRM: a small CRM's JSON API on 127.0.0.1, in memory, for the toy adapter's tests.

What a real CRM would do to a sync daemon, in miniature: bearer tokens that can be revoked, a
daily call quota, short-window 429s and 5xx on demand, a validation rule that refuses one
person, task keys that are unique (a second task with a key is not made), custom fields that must
be created before they are written, and a change sequence (``seq``) that lists changed and
deleted people in order. The back door is this object's Python methods; the API::

    GET   /me                      who the token is, and its scopes
    GET   /owners                  every owner, deactivated ones included
    GET   /people?after=SEQ&limit=N   changes after SEQ (N, 100 at most): people changed, deleted
    POST  /people/get              {"ids"}: these people now
    PATCH /people                  {"changes": [{"id", "fields"}]}: one result per person
    POST  /people/history          {"ids", "fields"}: when each field last changed
    POST  /activities/search       {"people"}: their activities
    GET   /tasks?key=K             the task with that key, if any
    POST  /tasks                   a task; an existing key answers that task, not made again
    GET   /fields, POST /fields, PUT /fields/NAME   custom fields and their options
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSON = dict[str, Any]
TOKEN = "toy-token"
SCOPES = ["people.read", "people.write", "tasks.write", "fields.write"]
STANDARD = ("email", "first_name", "last_name", "title", "company", "country", "employees", "stage", "owner")


class Refused(Exception):
    """An API error: the status and the JSON body the toy CRM answers with."""

    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("message", ""))
        self.status, self.body, self.headers = status, body, headers or {}


@dataclass
class Person:
    id: str
    created_at: str
    values: JSON  # the standard fields and the custom ones, by the CRM's names
    seq: int = 0
    changed: dict[str, datetime] = field(default_factory=dict)  # field → when it last changed

    def json(self) -> JSON:
        return {"id": self.id, "created_at": self.created_at, "seq": self.seq, **self.values}


class ToyCrm:
    """The toy CRM's data and rules; ``start()`` serves its API on 127.0.0.1 (``url``)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.lock = threading.RLock()
        self._offset = (now - datetime.now(UTC)) if now else timedelta()
        self.people: dict[str, Person] = {}
        self.log_of_changes: list[tuple[int, str, str]] = []  # (seq, "changed" | "deleted", id), in order
        self.activities: list[JSON] = []
        self.owners: list[JSON] = []
        self.tasks: dict[str, JSON] = {}
        self.fields: dict[str, JSON] = {}
        self.seq = 0
        self.refused: set[str] = set()
        self.revoked = False
        self.daily_max, self.used = 1_000_000, 0
        self.faults: list[int] = []  # statuses to answer the next requests with
        self.calls: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    # -- the back door -----------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self._offset += timedelta(seconds=seconds)

    def add_person(self, pid: str, created_at: datetime, **values: Any) -> Person:
        with self.lock:
            person = Person(pid, created_at.isoformat(), dict(values))
            self.people[pid] = person
            self._bump(person, list(values))
            return person

    def clear_people(self) -> None:
        """No one left, and no change to list (a fresh CRM's people, before seeding)."""
        with self.lock:
            self.people.clear()
            self.log_of_changes.clear()

    def person_sets(self, pid: str, **values: Any) -> None:
        """Change a person as someone in the CRM's screens would."""
        with self.lock:
            person = self.people[pid]
            person.values.update(values)
            self._bump(person, list(values))

    def delete(self, pid: str) -> None:
        with self.lock:
            del self.people[pid]
            self.seq += 1
            self.log_of_changes.append((self.seq, "deleted", pid))

    def log(self, pid: str, kind: str, at: datetime, owner: str | None = None, **props: Any) -> None:
        """An activity of a person (it changes the person, as "last activity" does in CRMs)."""
        with self.lock:
            self.activities.append(
                {
                    "id": f"a{len(self.activities) + 1}",
                    "person": pid,
                    "type": kind,
                    "at": at.isoformat(),
                    "owner": owner,
                    "properties": props,
                }
            )
            self._bump(self.people[pid], [])

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.lock:
            self.faults += [status] * times

    def _bump(self, person: Person, names: list[str]) -> None:
        self.seq += 1
        person.seq = self.seq
        self.log_of_changes.append((self.seq, "changed", person.id))
        now = self.now()
        for name in names:
            person.changed[name] = now

    # -- serving -----------------------------------------------------------------------------

    def start(self) -> ToyCrm:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # A short poll: ``stop`` waits for the serving loop to notice (0.5 s by default).
        threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> ToyCrm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the toy CRM first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(
        self, method: str, path: str, query: dict[str, str], token: str, body: Any
    ) -> tuple[int, JSON]:
        """One API request: its status and JSON body (``Refused`` for an error)."""
        with self.lock:
            self.calls.append(f"{method} {path}")
            if self.faults:
                status = self.faults.pop(0)
                if status == 429:
                    raise Refused(
                        429, {"error": "BUSY", "message": "try again in a second"}, {"Retry-After": "1"}
                    )
                raise Refused(status, {"error": "INTERNAL", "message": "try again"})
            if token != TOKEN or self.revoked:
                raise Refused(401, {"error": "INVALID_TOKEN", "message": "the token is not valid"})
            self.used += 1
            if self.used > self.daily_max:
                midnight = datetime.combine(self.now().date() + timedelta(days=1), time(0), UTC)
                raise Refused(
                    429,
                    {
                        "error": "DAILY_QUOTA",
                        "message": "today's calls are used up",
                        "resets_at": midnight.isoformat(),
                    },
                )
            route = _ROUTES.get((method, "/" + path.strip("/").split("/")[0]))
            if route is None:
                raise Refused(404, {"error": "NOT_FOUND", "message": f"{method} {path}"})
            return route(self, path, query, body)


def _me(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    return 200, {"user": "api@toy.example", "scopes": SCOPES}


def _owners(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    return 200, {"owners": crm.owners}


def _changes(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    after, limit = int(query.get("after", 0)), min(int(query.get("limit", 100)), 100)
    changes: list[JSON] = []
    for seq, kind, pid in crm.log_of_changes[bisect.bisect_right(crm.log_of_changes, (after, "~", "")) :]:
        if len(changes) == limit:
            return 200, {"changes": changes, "more": True}
        if kind == "deleted":
            changes.append({"seq": seq, "deleted": pid})
        elif pid in crm.people and crm.people[pid].seq == seq:  # else changed again later
            changes.append({"seq": seq, "person": crm.people[pid].json()})
    return 200, {"changes": changes, "more": False}


def _people(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    if path == "/people/get":
        return 200, {"people": [crm.people[i].json() for i in body["ids"] if i in crm.people]}
    if path == "/people/history":
        wanted = set(body["fields"])
        changed = {
            i: {f: at.isoformat() for f, at in crm.people[i].changed.items() if f in wanted}
            for i in body["ids"]
            if i in crm.people
        }
        return 200, {"changed": changed}
    raise Refused(404, {"error": "NOT_FOUND", "message": path})


def _write(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    results = []
    for change in body["changes"]:
        pid, values = change["id"], change["fields"]
        unknown = [k for k in values if k not in STANDARD and k not in crm.fields]
        if pid not in crm.people:
            results.append({"id": pid, "ok": False, "error": f"NOT_FOUND: no person {pid}"})
        elif pid in crm.refused:
            results.append(
                {"id": pid, "ok": False, "error": f"VALIDATION_RULE: {pid} is kept by the partner team"}
            )
        elif unknown:
            results.append({"id": pid, "ok": False, "error": f"UNKNOWN_FIELD: {', '.join(unknown)}"})
        else:
            person = crm.people[pid]
            moved = [k for k, v in values.items() if person.values.get(k) != v]
            person.values.update(values)
            crm._bump(person, moved)
            results.append({"id": pid, "ok": True})
    return 200, {"results": results}


def _activities(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    wanted = set(body["people"])
    return 200, {"activities": [a for a in crm.activities if a["person"] in wanted]}


def _find_task(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    task = crm.tasks.get(query.get("key", ""))
    return 200, {"tasks": [task] if task else []}


def _create_task(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    if body["key"] in crm.tasks:  # keys are unique: the one made before
        return 200, {"id": crm.tasks[body["key"]]["id"], "created": False}
    if body["person"] not in crm.people:
        raise Refused(400, {"error": "NOT_FOUND", "message": f"no person {body['person']}"})
    task = {**body, "id": f"t{len(crm.tasks) + 1}"}
    crm.tasks[body["key"]] = task
    return 201, {"id": task["id"], "created": True}


def _fields(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    return 200, {"fields": crm.fields}


def _add_field(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    if body["name"] in crm.fields:
        raise Refused(409, {"error": "DUPLICATE", "message": f"field {body['name']} exists"})
    crm.fields[body["name"]] = {"options": body.get("options")}
    return 201, {"name": body["name"]}


def _set_field(crm: ToyCrm, path: str, query: dict[str, str], body: Any) -> tuple[int, JSON]:
    name = path.rsplit("/", 1)[1]
    crm.fields[name] = {"options": body.get("options")}
    return 200, {"name": name}


_Route = Callable[[ToyCrm, str, dict[str, str], Any], tuple[int, JSON]]
_ROUTES: dict[tuple[str, str], _Route] = {
    ("GET", "/me"): _me,
    ("GET", "/owners"): _owners,
    ("GET", "/people"): _changes,
    ("POST", "/people"): _people,
    ("PATCH", "/people"): _write,
    ("POST", "/activities"): _activities,
    ("GET", "/tasks"): _find_task,
    ("POST", "/tasks"): _create_task,
    ("GET", "/fields"): _fields,
    ("POST", "/fields"): _add_field,
    ("PUT", "/fields"): _set_field,
}


def _handler(crm: ToyCrm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            where = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(where.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            headers: dict[str, str] = {}
            try:
                status, answer = crm.answer(self.command, where.path, query, token, body)
            except Refused as refused:
                status, answer, headers = refused.status, refused.body, refused.headers
            data = json.dumps(answer).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read the calls from ``ToyCrm.calls``."""

    return Handler
