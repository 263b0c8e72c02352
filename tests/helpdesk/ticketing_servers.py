"""Small loopback HTTP servers speaking the documented Zendesk, Jira SM and ServiceNow endpoints."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

USERNAME = "agent@acme.test"
TOKEN = "s3cret-token"
AUTH_USER = {"zendesk": f"{USERNAME}/token", "jira": USERNAME, "servicenow": USERNAME}
UNAUTHORIZED = {
    "zendesk": {"error": "Couldn't authenticate you"},
    "jira": {"errorMessages": ["You are not authenticated."], "errors": {}},
    "servicenow": {
        "error": {
            "message": "User Not Authenticated",
            "detail": "Required to provide Auth information",
        },
        "status": "failure",
    },
}
NOT_FOUND = {
    "zendesk": {"error": "RecordNotFound", "description": "Not found"},
    "jira": {"errorMessage": "The request could not be found.", "i18nErrorMessage": {}},
    "servicenow": {
        "error": {
            "message": "No Record found",
            "detail": "Record doesn't exist or ACL restricts the record retrieval",
        },
        "status": "failure",
    },
}


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any


@dataclass
class Fault:
    """Answer the next `count` requests with `status` (after applying them if `applied`)."""

    count: int
    status: int
    retry_after: str | None
    applied: bool
    method: str | None


@dataclass
class Record:
    """A ticket, issue or incident: its comments, fields, labels and offered transitions."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    transitions: list[str] = field(default_factory=list)


class TicketingServer:
    """One system's endpoints on 127.0.0.1, recording every request."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.requests: list[Recorded] = []
        self.records: dict[str, Record] = {}
        self.faults: list[Fault] = []
        self.url = ""
        secret = base64.b64encode(f"{AUTH_USER[system]}:{TOKEN}".encode()).decode()
        self.expected_auth = f"Basic {secret}"
        self._lock = threading.Lock()

    def add(self, key: str, *, transitions: tuple[str, ...] = ()) -> Record:
        """Create a record the connector may write to."""
        record = Record(transitions=list(transitions))
        self.records[key] = record
        return record

    def fail_next(
        self,
        count: int,
        status: int = 429,
        retry_after: str | None = "1",
        *,
        applied: bool = False,
        method: str | None = None,
    ) -> None:
        """Answer the next `count` requests (of `method`) with `status` and Retry-After.

        `applied`: carry the request out first, as if the answer were lost on the way back.
        """
        self.faults.append(Fault(count, status, retry_after, applied, method))

    def writes(self) -> list[Recorded]:
        """The requests that were not GETs."""
        return [request for request in self.requests if request.method != "GET"]

    def handle(self, recorded: Recorded) -> tuple[int, Any, dict[str, str]]:
        """Status, JSON body and extra headers for one request."""
        with self._lock:
            self.requests.append(recorded)
            fault = self._take_fault(recorded.method)
            if fault is not None and not fault.applied:
                return self._fault(fault)
            if recorded.headers.get("authorization") != self.expected_auth:
                return 401, UNAUTHORIZED[self.system], {}
            status, body = ROUTES[self.system](self, recorded)
            return self._fault(fault) if fault is not None else (status, body, {})

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (None, method):
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fault(self, fault: Fault) -> tuple[int, Any, dict[str, str]]:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return fault.status, {"error": "Service Unavailable"}, headers

    def _record(self, key: str) -> Record | None:
        return self.records.get(key)


def _zendesk(server: TicketingServer, request: Recorded) -> tuple[int, Any]:
    match = re.fullmatch(r"/api/v2/tickets/([^/]+?)(/comments)?\.json", request.path)
    record = server._record(match.group(1)) if match else None
    if match is None or record is None:
        return 404, NOT_FOUND["zendesk"]
    if request.method == "GET" and match.group(2):
        order = request.query.get("sort_order", ["asc"])[0]
        comments = record.comments[::-1] if order == "desc" else record.comments
        return 200, {"comments": comments, "next_page": None, "count": len(comments)}
    if request.method == "PUT" and not match.group(2):
        ticket = request.json["ticket"]
        if "comment" in ticket:
            record.comments.append(dict(ticket["comment"], id=len(record.comments) + 1))
        record.labels += ticket.get("additional_tags", [])
        record.fields.update({k: v for k, v in ticket.items() if k in ("priority", "group_id")})
        return 200, {"ticket": {"id": int(match.group(1))}}
    return 405, {"error": "MethodNotAllowed"}


def _jira(server: TicketingServer, request: Recorded) -> tuple[int, Any]:
    comment = re.fullmatch(r"/rest/servicedeskapi/request/([^/]+)/comment", request.path)
    issue = re.fullmatch(r"/rest/api/2/issue/([^/]+)(/transitions)?", request.path)
    found = comment or issue
    record = server._record(found.group(1)) if found else None
    if record is None:
        return 404, NOT_FOUND["jira"]
    if comment:
        return _jira_comments(record, request)
    if issue and issue.group(2):
        return _jira_transitions(record, request)
    if request.method == "PUT":
        record.fields.update(request.json.get("fields", {}))
        record.labels += [op["add"] for op in request.json.get("update", {}).get("labels", [])]
        return 204, None
    return 405, {"errorMessages": ["method not allowed"]}


def _jira_comments(record: Record, request: Recorded) -> tuple[int, Any]:
    if request.method == "POST":
        record.comments.append({"id": str(len(record.comments) + 1), **request.json})
        return 201, record.comments[-1]
    start, limit = int(request.query["start"][0]), int(request.query["limit"][0])
    values = record.comments[start : start + limit]
    last = start + limit >= len(record.comments)
    page = {"start": start, "limit": limit, "size": len(values), "isLastPage": last}
    return 200, page | {"values": values}


def _jira_transitions(record: Record, request: Recorded) -> tuple[int, Any]:
    if request.method == "POST":
        record.transitions.remove(request.json["transition"]["id"])
        return 204, None
    return 200, {"transitions": [{"id": t, "name": f"step {t}"} for t in record.transitions]}


def _servicenow(server: TicketingServer, request: Recorded) -> tuple[int, Any]:
    if request.path == "/api/now/table/sys_journal_field" and request.method == "GET":
        query = request.query["sysparm_query"][0]
        element_id = re.match(r"element_id=([0-9a-f]+)\^", query)
        record = server._record(element_id.group(1)) if element_id else None
        rows = [{"value": c["value"]} for c in (record.comments if record else [])]
        return 200, {"result": [row for row in rows[::-1] if "airlock ticket" in row["value"]]}
    match = re.fullmatch(r"/api/now/table/incident/([^/]+)", request.path)
    record = server._record(match.group(1)) if match else None
    if match is None or record is None or request.method != "PATCH":
        return 404, NOT_FOUND["servicenow"]
    for element in ("work_notes", "comments"):
        if element in request.json:
            record.comments.append({"element": element, "value": request.json[element]})
    record.fields.update(
        {k: v for k, v in request.json.items() if k not in ("work_notes", "comments")}
    )
    return 200, {"result": {"sys_id": match.group(1)}}


ROUTES = {"zendesk": _zendesk, "jira": _jira, "servicenow": _servicenow}


def _handler(server: TicketingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            recorded = Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                json=json.loads(raw) if raw else None,
            )
            status, body, headers = server.handle(recorded)
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read `server.requests`."""

    return Handler


@contextmanager
def serve(system: str) -> Iterator[TicketingServer]:
    """A running server for `system` on 127.0.0.1 (an ephemeral port) until the block ends."""
    server = TicketingServer(system)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
