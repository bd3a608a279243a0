"""The CLI verbs of the query manager:

    sqlc serve [--state-dir DIR] [--host H] [--port P] [--token T] [--project]  # API, page at /
    sqlc submit NAME FILE.sql [PIPELINE FLAGS ...]   # compile + start
    sqlc list | describe NAME | pause NAME | resume NAME | stop NAME
    sqlc upgrade NAME [FILE.sql] [PIPELINE FLAGS ...]  # the new version from a savepoint

Every verb but ``serve`` talks to the manager at ``--manager URL`` (default
$SQLC_MANAGER, else http://127.0.0.1:8765) with ``--token`` (default
$SQLC_MANAGER_TOKEN). Exit codes: 0 done, 1 the manager cannot be reached,
2 it refused (bad SQL, unknown query, wrong state), or a bad flag
(``ManagerError``, which the CLI prints as a usage error).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from compiler.errors import ManagerError
from compiler.manager.defaults import BACKOFF_S, DEFAULT_PORT, DEFAULT_URL, MAX_RESTARTS

VERBS = ("list", "describe", "pause", "resume", "stop")


def add_commands(sub, catalog) -> None:
    p = sub.add_parser("serve", help="run the query manager: many pipelines, an HTTP API "
                                     "and a status page (GET /)")
    p.add_argument("--state-dir", default=".sqlc/serve", metavar="DIR",
                   help="where queries, checkpoints and logs are kept (default .sqlc/serve)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the API's address (default loopback; others need --token)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    p.add_argument("--token", default=os.environ.get("SQLC_MANAGER_TOKEN"),
                   help="required of every request that changes something "
                        "(default $SQLC_MANAGER_TOKEN)")
    p.add_argument("--max-restarts", type=int, default=MAX_RESTARTS, metavar="N",
                   help=f"restarts of a failed pipeline before it stays FAILED (default "
                        f"{MAX_RESTARTS}; exit code 2, a bad flag or file, is never retried)")
    p.add_argument("--backoff", type=float, default=BACKOFF_S, metavar="SECONDS",
                   help=f"wait before the first restart, doubled each time (default {BACKOFF_S:g})")
    p.add_argument("--project", action="store_true",
                   help="also run every [tool.sqlc] query (flags from [tool.sqlc.serve.args])")
    catalog(p)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("submit", help="compile a query and start it in the manager",
                       description="Flags after FILE.sql go to the pipeline (--input, "
                       "--output, --bootstrap, ...).")
    p.add_argument("name")
    p.add_argument("file")
    _client(p)
    p.set_defaults(handler=cmd_submit)
    p = sub.add_parser("upgrade", help="replace a query by a new version that goes on from "
                                       "its savepoint",
                       description="Flags after FILE.sql replace the pipeline's flags (none: "
                       "the old ones). Refused, with the reason and nothing stopped, when the "
                       "new version cannot take the old state.")
    p.add_argument("name")
    p.add_argument("file", nargs="?", help="the new SQL (default: the same SQL)")
    _client(p)
    p.set_defaults(handler=cmd_upgrade)
    for verb in VERBS:
        p = sub.add_parser(verb, help=f"{verb} {'queries' if verb == 'list' else 'a query'} "
                                      "of the manager")
        if verb != "list":
            p.add_argument("name")
        _client(p)
        p.set_defaults(handler=cmd_verb, verb=verb)


def _client(p: argparse.ArgumentParser) -> None:
    p.add_argument("--manager", default=os.environ.get("SQLC_MANAGER", DEFAULT_URL),
                   metavar="URL", help="the manager (default $SQLC_MANAGER, else "
                                       f"{DEFAULT_URL})")
    p.add_argument("--token", default=os.environ.get("SQLC_MANAGER_TOKEN"))


def cmd_serve(args: argparse.Namespace) -> int:
    from compiler.manager.core import Manager
    from compiler.manager.http import make_server
    from compiler.project import default_catalogs

    manager = Manager(args.state_dir, default_catalogs(args.catalog), args.max_restarts,
                      args.backoff)
    try:
        server = make_server(manager, args.host, args.port, args.token)
    except OSError as error:
        raise ManagerError(f"--port {args.port}: cannot listen on {args.host} "
                         f"({error.strerror})") from None
    if args.project:
        _submit_project(manager)
    manager.start()
    done = threading.Event()

    def stop(*_) -> None:
        done.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    threading.Thread(target=server.serve_forever, name="sqlc-api", daemon=True).start()
    print(f"sqlc serve: listening on http://{args.host}:{server.server_address[1]} "
          f"(the status page is at /; state in {args.state_dir})", file=sys.stderr, flush=True)
    done.wait()
    print("sqlc serve: stopping: every pipeline takes a savepoint", file=sys.stderr, flush=True)
    server.shutdown()
    manager.shutdown()
    return 0


def _submit_project(manager) -> None:
    """The [tool.sqlc] queries, each under its file's name, once."""
    from compiler.project import configured_entries, find_project, project_config

    root = find_project()
    if root is None:
        return
    flags = project_config(root).get("serve", {}).get("args", {})
    for sql_path, _ in configured_entries(root):
        name = sql_path.stem
        if name in manager.records:
            continue  # taken up from the state directory
        try:
            manager.submit(name, sql_path.read_text(encoding="utf-8"), flags.get(name, []),
                           origin=str(sql_path.relative_to(root)))
        except ManagerError as error:
            print(f"sqlc serve: {name}: {error}", file=sys.stderr)


def cmd_submit(args: argparse.Namespace) -> int:
    try:
        sql = Path(args.file).read_text(encoding="utf-8")
    except OSError as error:
        raise ManagerError(f"cannot read {args.file}: {error.strerror}") from None
    return _request(args, "POST", "/queries",
                    {"name": args.name, "sql": sql, "args": list(args.run_args)})


def cmd_upgrade(args: argparse.Namespace) -> int:
    body: dict = {}
    if args.file is not None:
        try:
            body["sql"] = Path(args.file).read_text(encoding="utf-8")
        except OSError as error:
            raise ManagerError(f"cannot read {args.file}: {error.strerror}") from None
    if args.run_args:
        body["args"] = list(args.run_args)
    return _request(args, "POST", f"/queries/{args.name}/upgrade", body)


def cmd_verb(args: argparse.Namespace) -> int:
    if args.verb == "list":
        return _request(args, "GET", "/queries", table=True)
    if args.verb == "describe":
        return _request(args, "GET", f"/queries/{args.name}")
    return _request(args, "POST", f"/queries/{args.name}/{args.verb}")


def _request(args: argparse.Namespace, method: str, path: str, body: dict | None = None,
             table: bool = False) -> int:
    from compiler.manager.http import ClientError, call  # urllib, http: not for `sqlc compile`

    try:
        answer = call(args.manager, method, path, body, args.token)
    except ClientError as error:
        print(f"sqlc: error: {error}", file=sys.stderr)
        return 1 if error.status == 0 else 2
    if table and not getattr(args, "json", False):
        print(_table(answer))
    else:
        print(json.dumps(answer, indent=1))
    return 0


COLUMNS = (("NAME", "name"), ("STATE", "state"), ("UPTIME", "uptime_s"),
           ("EVENTS/S", "events_per_s"), ("WATERMARK", "watermark"), ("LAG", "kafka_lag"),
           ("RESTARTS", "restarts"), ("LAST ERROR", "last_error"))


def _table(queries: list[dict]) -> str:
    rows = [[h for h, _ in COLUMNS]]
    for q in queries:
        rows.append(["-" if q.get(k) is None else str(q.get(k))[:60] for _, k in COLUMNS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
