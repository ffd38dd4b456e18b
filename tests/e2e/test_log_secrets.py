"""No secret of a link, a login or a logout reaches a log (issue 14, point 5).

An admin creates an account and its activation link is used, a password reset link is used, an RP
signs the user in (authorization code, `login_hint`) and logs out with `id_token_hint`. Everything the
app logs meanwhile is captured at DEBUG; then every URL of the flow (request lines with their query
strings, redirect targets, each one the next request's Referer, as a browser sends them) is requested
again from werkzeug's dev server (its request log), from `idp serve` as `make run` starts it (granian,
its access and own log on stderr) and from a real gunicorn started with idp/web/gunicorn_conf.py (access
log to a file, debug error log). None of the link tokens, the code, the ID and access tokens, the client
secret, the passwords or the login hint may appear anywhere.
"""
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.serving import make_server

from conftest import STRONG_PASSWORD
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.protocols.oidc.conftest import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty

BASE_URL = "http://127.0.0.1:8000"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMAIL = "hikaru@acme.example.com"
FIRST_PASSWORD = "Kaede-Leaves-2026"
RESET_PASSWORD = "Fuji-Mountain-3776"
FORM = {"name": "鈴木 光", "email": EMAIL, "phone": "", "mobile": "", "organization": "", "department": "",
        "role": "user", "status": "enabled", "valid_from": "2026-04-01", "valid_to": ""}


class Recorder:
    """WSGI middleware: the request line, Referer and Location of every request the test client makes."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.seen = wsgi_app, []

    def __call__(self, environ, start_response):
        query = environ.get("QUERY_STRING", "")
        target = quote(environ["PATH_INFO"]) + (f"?{query}" if query else "")  # RAW_URI lacks `query_string=`

        def recording_start_response(status, headers, exc_info=None):
            location = dict(headers).get("Location")
            self.seen.append(SimpleNamespace(method=environ["REQUEST_METHOD"], target=target, location=location))
            return start_response(status, headers, exc_info)
        return self.wsgi_app(environ, recording_start_response)


def _path(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _mailed_path(outbox, marker):
    [link] = [link for message in outbox.to(EMAIL) for link in outbox.links(message) if marker in link]
    return _path(link)


def _activation_and_reset(app, client, submit, login, outbox):
    """The admin creates the account; its activation link, then a reset link, are opened and used."""
    assert login(email="admin@acme.example.com").status_code == 302
    with app.app_context():
        group = groups.default_group(tenants.get_by_slug("acme")).id
    assert submit("/admin/accounts/new", {**FORM, "group": str(group)}).status_code == 302
    client.get("/logout")
    activation = _mailed_path(outbox, "/activate/")
    assert client.get(activation).status_code == 200
    assert submit(activation, {"password": FIRST_PASSWORD, "password_confirm": FIRST_PASSWORD}).status_code == 302
    assert submit("/password/forgot", {"email": EMAIL}).status_code in (200, 302)
    reset = _mailed_path(outbox, "/password/reset/")
    assert client.get(reset).status_code == 200
    assert submit(reset, {"password": RESET_PASSWORD, "password_confirm": RESET_PASSWORD}).status_code == 302
    return {"activation token": activation.rsplit("/", 1)[1], "reset token": reset.rsplit("/", 1)[1],
            "first password": FIRST_PASSWORD, "new password": RESET_PASSWORD}


def _login_and_logout(app, client, clock, login):
    """An RP's code flow with login_hint, then RP-initiated logout with id_token_hint."""
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = oidc_clients.register(tenant, oidc_clients.ClientSettings(
            name="経費精算", redirect_uris=(REDIRECT_URI,), post_logout_redirect_uris=(POST_LOGOUT_URI,)),
            groups=[groups.default_group(tenant)], now=clock.now(), actor=OPERATOR)
        db.session.commit()
        registration = SimpleNamespace(**created.as_json())
    rp = RelyingParty(client, clock, lambda email, next_url: login(email, RESET_PASSWORD, next_url))
    code = rp.code_from(rp.log_in_through(registration, email=EMAIL, login_hint=EMAIL))
    tokens = rp.exchange(registration, code).get_json()
    logout = client.get("/t/acme/oidc/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "bye-1"})
    assert logout.status_code == 302 and logout.headers["Location"] == f"{POST_LOGOUT_URI}?state=bye-1"
    return {"code": code, "ID token": tokens["id_token"], "access token": tokens["access_token"],
            "client secret": registration.client_secret, "admin password": STRONG_PASSWORD,
            "login hint": quote(EMAIL, safe=""), "e-mail": EMAIL}


def _browser_requests(seen):
    """(method, target, referer) for each request and each redirect followed, as a browser sends them."""
    requests, referer = [], "-"
    for request in seen:
        requests.append((request.method, request.target, referer))
        referer = BASE_URL + request.target
        if request.location:
            requests.append(("GET", _path(request.location), referer))
            referer = request.location if "://" in request.location else BASE_URL + request.location
    return requests


def _send(port, requests):
    for method, target, referer in requests:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request(method, target, headers={"Referer": referer, "User-Agent": "log-test"})
            connection.getresponse().read()
        finally:
            connection.close()


def _through_werkzeug(app, requests):
    """werkzeug's dev server (`idp run`, `flask run`) logs each request to the `werkzeug` logger."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _send(server.server_port, requests)
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(process, port, deadline):
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited at start-up"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server did not start serving in time")


def _serve(command, port, instance, output_path, requests):
    """Run a server process on a fresh instance, replay `requests`, stop it with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update(IDP_INSTANCE_DIR=str(instance), IDP_BASE_URL=f"http://127.0.0.1:{port}",
               IDP_RATELIMIT_ENABLED="0", IDP_MAIL_ASYNC="0")
    with open(output_path, "wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_until_serving(process, port, time.monotonic() + 30)
            _send(port, requests)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(15)


def _through_gunicorn(tmp_path, requests):
    """A real gunicorn with idp/web/gunicorn_conf.py (one worker, a fresh instance); returns its log files' text."""
    port, logs = _free_port(), tmp_path / "gunicorn-logs"
    logs.mkdir()
    command = [sys.executable, "-m", "gunicorn", "-c", "python:idp.web.gunicorn_conf", "--workers", "1",
               "--bind", f"127.0.0.1:{port}", "--access-logfile", str(logs / "access.log"),
               "--error-logfile", str(logs / "error.log"), "--log-level", "debug", "idp:create_app()"]
    _serve(command, port, tmp_path / "gunicorn-instance", logs / "output.log", requests)
    return {path.name: path.read_text(errors="replace") for path in logs.iterdir()}


def _through_idp_serve(tmp_path, requests):
    """`idp serve` as `make run` starts it (one worker, a fresh instance); returns its output (logs on stderr)."""
    port, output_path = _free_port(), tmp_path / "idp-serve.log"
    command = [os.path.join(os.path.dirname(sys.executable), "idp"), "serve", "--workers", "1"]
    _serve(command, port, tmp_path / "serve-instance", output_path, requests)
    return output_path.read_text(errors="replace")


@pytest.fixture
def acme(factory):
    factory.tenant("acme")  # its admin: admin@acme.example.com


@pytest.mark.sqlite_only  # what is logged does not depend on the database (gunicorn runs on its own SQLite)
def test_tokens_codes_and_hints_stay_out_of_every_log(
        app, acme, client, submit, login, outbox, clock, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    recorder = app.wsgi_app = Recorder(app.wsgi_app)
    secrets = _activation_and_reset(app, client, submit, login, outbox)
    secrets.update(_login_and_logout(app, client, clock, login))
    requests = _browser_requests(recorder.seen)
    sent = "\n".join(f"{target} {referer}" for _method, target, referer in requests)
    for name in ("activation token", "reset token", "code", "ID token", "login hint"):
        assert secrets[name] in sent, f"the replayed URLs carry the {name}"

    _through_werkzeug(app, requests)
    werkzeug_records = [record for record in caplog.records if record.name == "werkzeug"]
    assert len(werkzeug_records) == len(requests)
    werkzeug_lines = "\n".join(record.getMessage() for record in werkzeug_records)
    gunicorn_logs = _through_gunicorn(tmp_path, requests)
    access = gunicorn_logs["access.log"]
    assert access.count("\n") == len(requests), access[-2000:]
    for shown in ("/activate/[redacted]", "/password/reset/[redacted]", "id_token_hint=[redacted]",
                  "code=[redacted]", "login_hint%3D[redacted]"):
        assert shown in access and shown in werkzeug_lines, shown

    served = _through_idp_serve(tmp_path, requests)
    access_lines = [line for line in served.splitlines() if '"log-test" ' in line]
    assert len(access_lines) == len(requests), served[-2000:]
    for shown in ("/activate/[redacted]", "/password/reset/[redacted]", "id_token_hint=[redacted]",
                  "code=[redacted]", "login_hint%3D[redacted]"):
        assert shown in served, shown

    outputs = {"app logs (caplog)": caplog.text, "idp serve": served, **gunicorn_logs}
    for name, secret in secrets.items():
        leaked = [output for output, text in outputs.items() if secret in text]
        assert not leaked, f"the {name} appears in {leaked}"
