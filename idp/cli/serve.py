"""`idp serve [--bind HOST:PORT] [--workers N]`: the production server, in the foreground.

granian (a Rust HTTP server, WSGI interface) with N worker processes; each worker builds its own app
(`worker_app`). Chosen by measurement on the real app (README, "Serving"): its keep-alive connections
and Rust HTTP layer do the same requests for less CPU than gunicorn's workers.

- SIGTERM or SIGINT: no new connections; the requests in flight finish, then the workers stop and the
  command exits 0 (workers that hang are killed after STOP_TIMEOUT seconds). Mails still queued go
  out first. Workers also stop when the main process is killed (they would keep the port).
- Logs go to stderr through `idp.platform.log_redaction`: link tokens, codes and hints are `[redacted]`.
  granian's own through its handlers' filter; the access log (one line per request with its query
  string and Referer) is written by the app's wrapper idp.web.access_log, not by granian's `logging`
  access logger, which cost ten times the CPU.
- The workers count their metrics in {instance}/metrics/ (PROMETHEUS_MULTIPROC_DIR, emptied at start),
  which /metrics adds up (idp.platform.metrics).
- stdout holds one line when the server starts: the address, the workers and the pid (`--json`: one
  JSON object), so a supervisor or a test knows where it listens.
"""
import atexit
import ctypes
import gc
import logging
import multiprocessing
import multiprocessing.util
import os
import signal
import socket
import sys
from urllib.parse import urlsplit

import click
from flask import current_app

from idp.cli.output import emit, json_option
from idp.directory import passwords
from idp.platform import metrics
from idp.platform.config import DEFAULT_BASE_URL
from idp.platform.extensions import db
from idp.web.access_log import AccessLog

PR_SET_PDEATHSIG = 1  # prctl(2)
STOP_TIMEOUT = 30  # seconds a worker may take to finish its requests after SIGTERM (gunicorn's default)
# Python threads per worker that run requests (--threads). On SQLite, one: its writes are serialized and
# in-process, so a second thread has no network wait to overlap and only contends for the GIL (measured
# 2026-12-05, 2 workers, 32 clients: refresh 908 → 1026/s, p99 62 → 51 ms; logins alike). On PostgreSQL,
# two: a thread's round trips to the server leave the CPU to the other. A request that waits long (an
# SP's metadata fetched by URL, up to ~10 s) holds its worker's only thread on SQLite: run 2+ workers.
SQLITE_THREADS, SERVER_DATABASE_THREADS = 1, 2
# granian's handlers, on stderr (stdout is the command's answer) and behind the redacting filter: a
# handler's filter also sees the records of child loggers (`_granian.wsgi.http`, …), a logger's does not
LOG_CONFIG = {
    "filters": {"redact": {"()": "idp.platform.log_redaction.RedactingFilter"}},
    "handlers": {
        name: {"formatter": name, "class": "logging.StreamHandler", "stream": "ext://sys.stderr",
               "filters": ["redact"]} for name in ("generic", "access")},
}
LOG_CONFIG["handlers"]["console"] = LOG_CONFIG["handlers"].pop("generic")


def worker_app():
    """The app of one worker (granian's factory target), built in the worker's own fresh interpreter
    (`spawn`): it imports what serving needs and skips the schema and the commands, which the main process
    handled (`IDP_SERVE_WORKER`), so a worker does not carry the CLI's memory.

    Until granian sets the worker's own handlers (after this returns), SIGTERM and SIGINT stop the worker
    at once: it would otherwise turn Ctrl-C into KeyboardInterrupt or miss a stop that came while it was
    starting, and be killed only after STOP_TIMEOUT. A worker is its own process group:
    a terminal's Ctrl-C would otherwise send it SIGINT while the main process sends SIGTERM, and with both
    a granian 2.8 worker sometimes never finishes stopping (1 in 6 here). A worker ends with `os._exit`
    (multiprocessing), which skips `atexit`: its exit handlers are run as a normal exit would (the mail
    thread sends what is still queued). The access-log wrapper goes around the app (text logs), and what
    the worker loaded moves to the garbage collector's permanent generation (as in idp/web/gunicorn_conf.py).
    """
    from idp import create_app
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_DFL)
    os.setpgrp()  # Ctrl-C reaches the main process alone, which stops each worker with one SIGTERM
    _stop_with_the_main_process()
    app = create_app({"IDP_SERVE_WORKER": True})
    multiprocessing.util.Finalize(None, atexit._run_exitfuncs, exitpriority=0)
    if app.config["IDP_LOG_FORMAT"] == "text":  # in JSON, the request's JSON line is the access line
        app.wsgi_app = AccessLog(app.wsgi_app)
    gc.collect()
    gc.freeze()
    return app


def _stop_with_the_main_process():
    """SIGTERM to this worker when the main process dies, even killed (Linux): an orphaned worker would
    keep the port, and the next `idp serve` could not start (gunicorn's workers leave with their master)."""
    main = multiprocessing.parent_process()
    if main and sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != main.pid:  # it died before the call
            os.kill(os.getpid(), signal.SIGTERM)


def first_stop_only(handlers):
    """One handler for SIGINT and SIGTERM that runs `handlers[signum]` for the first of them only.
    granian's handler sets a threading.Event; a second signal arriving while the first handler holds the
    Event's lock runs the handler again inside it, which waits for that lock forever: the main process
    never stopped (seen with `timeout` and `kill` sending SIGTERM together). The first stop is the one that
    counts; later ones are ignored."""
    stopping = []

    def first_only(signum, frame):
        if stopping:
            return
        stopping.append(signum)
        handlers[signum](signum, frame)
    return first_only


def _ignore_repeated_stops():
    handlers = {stop: signal.getsignal(stop) for stop in (signal.SIGINT, signal.SIGTERM)}
    handler = first_stop_only(handlers)
    for stop in handlers:
        signal.signal(stop, handler)


def parse_bind(value):
    """(host, port) of `HOST:PORT` (`[::1]:8000` for IPv6); a ClickException (one line) otherwise."""
    host, _, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.ClickException(f"--bind must be HOST:PORT (e.g. 127.0.0.1:8000), got {value!r}")
    return host, int(port)


def listen_address(host, port):
    """The numeric address granian listens on; one error line now when it cannot (taken, unknown, not
    an address of this machine), rather than granian's error with a Rust backtrace."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return address[0]


def default_bind():
    """IDP_BASE_URL's host and port, as `make run` serves it (8000 when the URL names no port)."""
    parts = urlsplit(os.environ.get("IDP_BASE_URL") or DEFAULT_BASE_URL)
    host = parts.hostname or "127.0.0.1"
    return f"[{host}]:{parts.port or 8000}" if ":" in host else f"{host}:{parts.port or 8000}"


def default_threads():
    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    return SQLITE_THREADS if url.startswith("sqlite") else SERVER_DATABASE_THREADS


def _server(host, port, workers, threads):
    from granian.constants import Interfaces
    from granian.server import Server
    return Server("idp.cli.serve:worker_app", factory=True, interface=Interfaces.WSGI, address=host, port=port,
                  workers=workers, blocking_threads=threads, websockets=False, log_access=False,
                  log_dictconfig=LOG_CONFIG, workers_kill_timeout=STOP_TIMEOUT)


@click.command("serve")
@click.option("--bind", help="HOST:PORT to listen on (default: the host and port of IDP_BASE_URL).")
@click.option("--workers", type=click.IntRange(min=1), default=lambda: len(os.sched_getaffinity(0)),
              show_default="one per CPU", help="Worker processes.")
@click.option("--threads", type=click.IntRange(min=1, max=32), default=None,
              help="Request threads per worker (default: 1 on SQLite, 2 on PostgreSQL).")
@json_option
def serve(bind, workers, threads, as_json):
    """Serve the identity provider in the foreground until SIGTERM (requests in flight finish)."""
    bind = bind or default_bind()
    host, port = parse_bind(bind)
    address = listen_address(host, port)
    # the CLI built an app to find this command (and prepared the schema): the main process only supervises
    # from here, so it holds no pooled database connection (each worker builds its own app and engine)
    db.engine.dispose()
    # /metrics adds up the workers' counts: a private folder of the instance, emptied at each start
    metrics.use_multiprocess_folder(os.path.join(current_app.instance_path, "metrics"))
    threads = threads or default_threads()
    # each worker starts a fresh interpreter and imports what serving needs, nothing of the CLI's
    # (Alembic, the commands): a forked worker would carry this process's memory (docs/performance.md)
    multiprocessing.set_start_method("spawn", force=True)
    server = _server(address, port, workers, threads)
    data = {"bind": bind, "workers": workers, "threads": threads, "pid": os.getpid(), "server": "granian",
            "password_hashing": passwords.backend()}
    server.on_startup(_ignore_repeated_stops)  # granian has set its handlers by then
    # printed once the address is bound, before the workers start
    server.on_startup(lambda: emit(as_json, data, f"Serving on {bind} with {workers} workers, {threads} "
                                                  f"request thread{'s' if threads > 1 else ''} each (granian, pid "
                                                  f"{data['pid']}); SIGTERM or Ctrl-C stops it"))
    server.on_startup(lambda: logging.getLogger("_granian").info("password hashing: %s", data["password_hashing"]))
    try:
        server.serve()
    except (OSError, RuntimeError) as exc:  # taken since the check; granian's message ends in a backtrace
        raise click.ClickException(f"cannot listen on {bind}: {str(exc).splitlines()[0]}")
