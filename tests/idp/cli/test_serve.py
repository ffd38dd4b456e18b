"""`idp serve` (idp/cli/serve.py): the production server, run as `make run` and an operator run it.

The console script is started on a free loopback port with a fresh instance (the demo tenant made by
`idp demo` first); it answers pages and the discovery document over one keep-alive connection, and
SIGTERM lets a request in flight finish, and a mail being sent, refuses new connections and exits 0.
Bad addresses fail before anything starts, with one error line.
"""
import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from aiosmtpd.controller import Controller

from conftest import csrf_token_from
from idp.cli import serve
from idp.directory import passwords

IDP_SCRIPT = os.path.join(os.path.dirname(sys.executable), "idp")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(instance, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
    env.update(IDP_INSTANCE_DIR=str(instance), IDP_BASE_URL=f"http://127.0.0.1:{port}",
               IDP_MAIL_TRANSPORT="outbox", IDP_RATELIMIT_ENABLED="0")
    return env


def _wait_for_login(process, port, deadline):
    while time.monotonic() < deadline:
        assert process.poll() is None, "idp serve exited at start-up"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise AssertionError("idp serve did not answer /login in time")


@pytest.fixture
def start(tmp_path):
    """start(**env): `idp serve --bind 127.0.0.1:PORT --workers 1 --json` on the demo tenant, serving;
    (process, port, log file). Stopped at the end of the test if still running."""
    started = []

    def start_server(**settings):
        port, instance = _free_port(), tmp_path / "instance"
        env = {**_env(instance, port), **settings}
        demo = subprocess.run([IDP_SCRIPT, "demo", "--json"], env=env, capture_output=True, text=True, timeout=60)
        assert demo.returncode == 0, demo.stderr
        log = open(tmp_path / "serve.log", "w+b")
        process = subprocess.Popen([IDP_SCRIPT, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                    "--json"], env=env, stdout=subprocess.PIPE, stderr=log, cwd=str(tmp_path),
                                   start_new_session=True)  # its own process group: the teardown kills all
        started.append((process, log))
        _wait_for_login(process, port, time.monotonic() + 30)
        return process, port, log

    yield start_server
    for process, log in started:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the workers too, whatever the test left running
        except ProcessLookupError:
            pass
        process.wait(10)
        process.stdout.close()
        log.close()


def _sigterm_while_a_request_is_in_flight(process, port):
    """Half the body of a token request is sent, then SIGTERM, then the rest: the answer still comes."""
    body = b"grant_type=client_credentials"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /t/demo/oidc/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body[:10]))
        time.sleep(0.3)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(body[10:])
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    return answer, stopped_at


def test_serves_pages_and_discovery_and_stops_gracefully_on_sigterm(start):
    process, port, log = start()
    started = json.loads(process.stdout.readline())
    assert started == {"bind": f"127.0.0.1:{port}", "workers": 1, "threads": 1, "pid": process.pid,
                       "server": "granian", "password_hashing": passwords.backend()}  # 1 thread: SQLite

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # one keep-alive connection
    connection.request("GET", "/login")
    login = connection.getresponse()
    assert login.status == 200 and "text/html" in login.getheader("Content-Type") and login.read()
    connection.request("GET", "/t/demo/.well-known/openid-configuration")
    discovery = connection.getresponse()
    assert discovery.status == 200
    assert json.loads(discovery.read())["issuer"] == f"http://127.0.0.1:{port}/t/demo"
    connection.close()

    answer, stopped_at = _sigterm_while_a_request_is_in_flight(process, port)
    assert answer.startswith(b"HTTP/1.1 401 ") and b'"invalid_client"' in answer, answer[:300]
    assert process.wait(5) == 0 and time.monotonic() - stopped_at < 5
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert process.stdout.read() == b""  # stdout held the one JSON line
    log.seek(0)
    output = log.read().decode()
    assert '"GET /t/demo/.well-known/openid-configuration HTTP/1.1" 200' in output
    assert f"[INFO] password hashing: {passwords.backend()}\n" in output
    assert "Traceback" not in output, output[-4000:]
    # (the line of the request in flight may be missing: granian sends the answer, then logs it)


class SlowMailServer:
    """An SMTP server on loopback that takes a second to accept each message."""

    def __init__(self):
        self.recipients = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(1)
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


def test_a_mail_still_being_sent_at_sigterm_goes_out(start):
    """The mail thread of a stopping worker finishes its queue (granian's workers skip atexit)."""
    mail_server = SlowMailServer()
    controller = Controller(mail_server, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        process, port, _log = start(IDP_MAIL_TRANSPORT=f"smtp://127.0.0.1:{controller.port}")
        mail_server.recipients.clear()  # what `idp demo` sent
        session = requests.Session()
        page = session.get(f"http://127.0.0.1:{port}/password/forgot", timeout=10).text
        answer = session.post(f"http://127.0.0.1:{port}/password/forgot", timeout=10,
                              data={"csrf_token": csrf_token_from(page), "email": "user@demo.example.com"})
        assert answer.status_code == 200 and mail_server.recipients == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        assert mail_server.recipients == ["user@demo.example.com"]
    finally:
        controller.stop()


def test_ctrl_c_stops_it(start):
    """A terminal sends SIGINT to the whole foreground process group (as under `make run`)."""
    process, port, _log = start()
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(5) == 0


def test_the_workers_stop_when_the_main_process_is_killed(start):
    """An orphaned worker would keep the port (and the next `idp serve` could not start)."""
    process, port, _log = start()
    process.kill()  # SIGKILL to the main process alone: no graceful stop of its own
    process.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("a worker still listens after its main process was killed")


@pytest.fixture
def invoke(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["serve", *args])


@pytest.mark.sqlite_only
@pytest.mark.parametrize("bind", ["nonsense", "127.0.0.1:notaport", "127.0.0.1:65536", ":8000", "taken"])
def test_a_bad_bind_is_one_error_line(invoke, bind):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = invoke("--bind", f"127.0.0.1:{taken.getsockname()[1]}" if bind == "taken" else bind, "--json")
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert ("already in use" if bind == "taken" else "HOST:PORT") in lines[0]


@pytest.mark.parametrize("base_url, bind", [
    ("http://127.0.0.1:8000", "127.0.0.1:8000"), ("http://localhost:5000/", "localhost:5000"),
    ("https://idp.example.com", "idp.example.com:8000"), ("http://[::1]:8080", "[::1]:8080"),
])
def test_the_default_bind_is_the_host_and_port_of_the_base_url(monkeypatch, base_url, bind):
    monkeypatch.setenv("IDP_BASE_URL", base_url)
    assert serve.default_bind() == bind
    assert serve.parse_bind(bind) == (bind.rsplit(":", 1)[0].strip("[]"), int(bind.rsplit(":", 1)[1]))


def test_make_run_serves_with_it_after_the_demo_tenant():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "Makefile")) as makefile:
        recipe = makefile.read().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("$(BIN)/idp demo") < recipe.index("$(BIN)/idp serve")


@pytest.mark.parametrize("url, threads", [("sqlite:////srv/idp/idp.db", 1), ("postgresql://idp@db/idp", 2)])
def test_one_request_thread_per_worker_on_sqlite_two_on_postgresql(app, url, threads):
    with app.app_context():
        app.config["SQLALCHEMY_DATABASE_URI"] = url
        assert serve.default_threads() == threads


WORKER_MODULES = """
import sys
from idp import create_app
app = create_app({"IDP_SERVE_WORKER": True})
status = app.test_client().get("/healthz").status_code
print(status, " ".join(sorted(name for name in sys.argv[1:] if name in sys.modules)))
"""
LOADED_ON_FIRST_USE = ("alembic", "flask_migrate", "idp.cli.db", "scim2_models", "webauthn", "requests", "xmlsec")


def test_a_worker_app_loads_neither_the_commands_nor_what_only_some_requests_use(tmp_path):
    """A worker of `idp serve` skips the schema (its main process prepared it) and the commands, so Alembic is
    never loaded; SCIM, passkeys, outbound HTTP and XML encryption are loaded by the first request that needs
    them (docs/performance.md, Memory). It still answers."""
    env = {**os.environ, "IDP_INSTANCE_DIR": str(tmp_path / "instance")}
    prepared = subprocess.run([IDP_SCRIPT, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60)
    assert prepared.returncode == 0, prepared.stderr
    out = subprocess.run([sys.executable, "-c", WORKER_MODULES, *LOADED_ON_FIRST_USE], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    assert out == ["200"], f"loaded at start: {out[1:]}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_is_a_fresh_interpreter_not_a_copy_of_the_main_process(start):
    """The workers are spawned, not forked: the main process (the CLI, Alembic, the schema check) is not
    copied into each of them; what a worker holds is what test_a_worker_app_loads_… shows."""
    process, port, _log = start()
    assert requests.get(f"http://127.0.0.1:{port}/login", timeout=10).status_code == 200
    children = [pid for path in os.listdir(f"/proc/{process.pid}/task")
                for pid in open(f"/proc/{process.pid}/task/{path}/children").read().split()]
    command_lines = [open(f"/proc/{pid}/cmdline", "rb").read() for pid in children]
    workers = [line for line in command_lines if b"resource_tracker" not in line]
    assert len(workers) == 1 and b"multiprocessing.spawn" in workers[0], command_lines


def test_a_second_stop_signal_during_the_first_is_ignored_not_a_deadlock():
    """granian's stop handler takes a lock; a signal that interrupts it must not run it again inside it."""
    calls = []

    def granian_handler(signum, _frame):
        calls.append(signum)
        handler(signal.SIGINT, None)  # a second signal arrives while the first is being handled

    handler = serve.first_stop_only({signal.SIGTERM: granian_handler, signal.SIGINT: granian_handler})
    handler(signal.SIGTERM, None)
    handler(signal.SIGTERM, None)
    assert calls == [signal.SIGTERM]
