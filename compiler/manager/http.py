"""The manager's HTTP JSON API (``sqlc serve``) and the client the CLI verbs
use (``sqlc submit|list|describe|pause|resume|stop``).

    GET  /                     the status page (HTML; it polls the two below and draws plans)
    GET  /queries              every query: state, uptime, events/s, watermark, lag, last error
    GET  /queries/NAME         one query, with its SQL and the end of its stderr
    GET  /queries/NAME/plan.svg  its physical plan, drawn
    GET  /history[?since=T]    per query, its recent [time, events/s, Kafka lag, event-time lag]
    POST /queries              {"name": ..., "sql": ..., "args": [...]}: compile and start
    POST /queries/NAME/pause   savepoint and stop consuming (PAUSED)
    POST /queries/NAME/resume  start again from the savepoint
    POST /queries/NAME/stop    savepoint and stop for good (CANCELLED)
    POST /queries/NAME/upgrade {"sql": ... (optional), "args": [...] (optional)}: the new
                               version goes on from the old one's savepoint, or is refused
    GET  /healthz

Errors are ``{"error": message}`` with 400 (bad request, bad SQL), 401 (no
or wrong token), 404 (no such query) or 409 (wrong state). The API listens
on loopback by default; on any other address it needs a token, and then
every request that changes something must carry ``Authorization: Bearer
TOKEN``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from compiler.manager.core import Manager, ManagerError

MAX_BODY = 4 * 1024 * 1024
PAGE = Path(__file__).with_name("status.html")


class Raw(bytes):
    """An answer that is not JSON: the bytes and their media type."""

    content_type = "application/octet-stream"

    def __new__(cls, data: bytes, content_type: str):
        raw = super().__new__(cls, data)
        raw.content_type = content_type
        return raw


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(manager: Manager, host: str, port: int, token: str | None):
    """The API server (not started); refuses a non-loopback address without a token."""
    if not is_loopback(host) and not token:
        raise ManagerError(f"--host {host} is reachable from other machines: give --token "
                           "(or SQLC_MANAGER_TOKEN), which every submit, pause, resume and "
                           "stop must then present")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no access log
            pass

        def do_GET(self) -> None:
            self._answer(lambda: _get(manager, self.path))

        def do_POST(self) -> None:
            if token and not _authorized(self.headers.get("Authorization", ""), token):
                self._send(401, {"error": "this manager needs 'Authorization: Bearer TOKEN'"})
                return
            self._answer(lambda: _post(manager, self.path, self._body()))

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ManagerError("request too large")
            try:
                data = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                raise ManagerError("the request body is not JSON") from None
            if not isinstance(data, dict):
                raise ManagerError("the request body must be a JSON object")
            return data

        def _answer(self, handle) -> None:
            try:
                self._send(200, handle())
            except ManagerError as error:
                self._send(error.status, {"error": str(error)})

        def _send(self, status: int, body) -> None:
            raw = isinstance(body, Raw)
            data = body if raw else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", body.content_type if raw else "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def _authorized(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def _parts(path: str) -> list[str]:
    return [p for p in path.split("?", 1)[0].split("/") if p]


def _get(manager: Manager, path: str):
    parts = _parts(path)
    if parts == ["healthz"]:
        return {"status": "ok"}
    if not parts:
        return Raw(PAGE.read_bytes(), "text/html; charset=utf-8")
    if parts == ["queries"]:
        return manager.list()
    if parts == ["history"]:
        return manager.history(_since(path))
    if len(parts) == 2 and parts[0] == "queries":
        return manager.details(parts[1])
    if len(parts) == 3 and parts[0] == "queries" and parts[2] == "plan.svg":
        return Raw(manager.plan_svg(parts[1]).encode(), "image/svg+xml")
    raise ManagerError(f"no such resource: GET {path}", 404)


def _since(path: str) -> float:
    """``?since=UNIX TIME`` of GET /history (0: everything kept)."""
    from urllib.parse import parse_qs, urlsplit

    given = parse_qs(urlsplit(path).query).get("since", ["0"])[-1]
    try:
        return float(given)
    except ValueError:
        raise ManagerError(f"since={given!r}: give a unix time in seconds") from None


def _post(manager: Manager, path: str, body: dict):
    parts = _parts(path)
    if parts == ["queries"]:
        name, sql, args = body.get("name"), body.get("sql"), body.get("args", [])
        if not isinstance(name, str) or not isinstance(sql, str):
            raise ManagerError('submit takes {"name": "...", "sql": "...", "args": [...]}')
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ManagerError('"args" must be a list of strings')
        return manager.submit(name, sql, args)
    verbs = {"pause": manager.pause, "resume": manager.resume, "stop": manager.stop}
    if len(parts) == 3 and parts[:1] + parts[2:] == ["queries", "upgrade"]:
        sql, args = body.get("sql"), body.get("args")
        if sql is not None and not isinstance(sql, str):
            raise ManagerError('"sql" must be a string')
        if args is not None and (not isinstance(args, list)
                                 or not all(isinstance(a, str) for a in args)):
            raise ManagerError('"args" must be a list of strings')
        return manager.upgrade(parts[1], sql, args)
    if len(parts) == 3 and parts[0] == "queries" and parts[2] in verbs:
        return verbs[parts[2]](parts[1])
    raise ManagerError(f"no such resource: POST {path}", 404)


# ---------------------------------------------------------------- the client


class ClientError(Exception):
    """The manager refused, or cannot be reached; ``status`` 0 for the latter."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def call(url: str, method: str, path: str, body: dict | None = None,
         token: str | None = None, timeout: float = 120.0):
    """One API request; the decoded JSON answer, or ClientError."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read()).get("error", error.reason)
        except ValueError:
            message = str(error.reason)
        raise ClientError(message, error.code) from None
    except OSError as error:
        reason = getattr(error, "reason", error)
        raise ClientError(f"cannot reach the manager at {url} ({reason}); is `sqlc serve` "
                          "running?", 0) from None
