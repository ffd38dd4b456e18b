"""Token-endpoint benchmark (a script, not a test).

`.venv/bin/python bench/oidc.py [-n 800] [-w 2] [-c 1,4,16] [--access-token jwt|opaque] [--steps …]`

Starts the app with `idp serve` on 127.0.0.1 the way `make run` does (2 workers, access log
written, here to /dev/null; fresh instance in a temp dir, SQLite, rate limits off),
registers a confidential client, then measures at a few concurrency levels:
  - code exchanges (authorization_code with an RS256 ID token; codes made beforehand),
  - refreshes (each thread follows its own rotating refresh-token chain),
  - full browserless logins (authorize → login page → password → code → token; argon2id).
Prints requests/s and p50/p99 latency of the measured step, and the CPU it cost: the server's
workers' (from /proc) and the load generator's own, per request. CPU per request does not depend
much on what else runs on the machine, so `capacity` (= CPUs × 1000 / (server + client ms)) is
what the same machine would reach idle with the load generator on the same cores.
The load generator speaks HTTP/1.1 on plain sockets (`Http`; ~0.15 ms CPU per request).
"""
import argparse
import base64
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PASSWORD = "Sakura-Blossom-2026"
REDIRECT_URI = "https://rp.example.com/cb"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(env, users, access_token_format=None):
    """Tenant, users and one client, created through the services (same instance dir as the server)."""
    os.environ.update(env)
    from idp import create_app
    from idp.directory import accounts, groups
    from idp.logs.audit import OPERATOR
    from idp.oidc import clients as oidc_clients
    from idp.platform.clock import utcnow
    from idp.platform.extensions import db
    from idp.tenancy import tenants
    app = create_app()
    with app.app_context():
        now = utcnow()
        tenant = tenants.create_tenant(slug="bench", company_name="Bench", owner_email="owner@bench.example.com",
                                       admin_email="admin@bench.example.com", admin_password=PASSWORD,
                                       now=now, actor=OPERATOR).tenant
        for i in range(users):
            accounts.create_account(
                tenant, accounts.NewAccount(email=f"user{i}@bench.example.com", name=f"User {i}"),
                password=PASSWORD, now=now, actor=OPERATOR)
        options = {"access_token_format": access_token_format} if access_token_format else {}
        created = oidc_clients.register(
            tenant, oidc_clients.ClientSettings(
                name="bench", redirect_uris=[REDIRECT_URI], **options),
            now=now, actor=OPERATOR, groups=[groups.default_group(tenant)])
        db.session.commit()
        print(f"client with the default settings: ID token {created.client.id_token_alg}, access token "
              f"{created.client.access_token_format} (jwt: RS256-signed, RFC 9068)", flush=True)
        return created.client.client_id, created.client_secret


class Http:
    """A minimal HTTP/1.1 client with a cookie jar (one host). It asks the server to close every
    connection (`Connection: close`), so each request opens a new socket, sends the request in one
    write and reads to EOF.
    Plain sockets cost the load generator ~0.15 ms CPU per request (`http.client` ~0.6 ms, a
    `requests` session ~1 ms), and the load generator shares the two cores with the server."""

    def __init__(self, port):
        self.port, self.cookies = port, {}

    def request(self, method, path, form=None, headers=None):
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        body = urlencode(form).encode() if form is not None else b""
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        response_headers = Headers()
        for line in header_lines:
            name, _, value = line.partition(":")
            response_headers.add(name.strip(), value.strip())
        if response_headers.get("Transfer-Encoding", "").lower() == "chunked":
            payload = _dechunk(payload)
        for value in response_headers.get_all("Set-Cookie"):
            for name, morsel in SimpleCookie(value).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return int(status_line.split()[1]), response_headers, payload.decode("utf-8", "replace")


class Headers:
    """Response headers: case-insensitive `get`, `get_all`, `[]` (what the flows below read)."""

    def __init__(self):
        self._items = []

    def add(self, name, value):
        self._items.append((name.lower(), value))

    def get(self, name, default=None):
        return next((v for k, v in self._items if k == name.lower()), default)

    def get_all(self, name):
        return [v for k, v in self._items if k == name.lower()]

    def __getitem__(self, name):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value


def _dechunk(payload):
    out = []
    while payload:
        size_line, _, rest = payload.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        payload = rest[size + 2:]
    return b"".join(out)


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


class Browser:
    def __init__(self, port, client_id):
        self.client_id = client_id
        self.http = Http(port)

    def authorize(self, scope="openid profile email"):
        query = urlencode({"response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT_URI,
                           "scope": scope, "state": "s", "nonce": "n"})
        return self.http.request("GET", f"/t/bench/oidc/authorize?{query}")

    def login(self, email, scope="openid profile email"):
        """authorize → login page → password → code (the browser part of a login)."""
        _status, headers, _ = self.authorize(scope)
        login_url = local(headers["Location"])
        _status, _, page = self.http.request("GET", login_url)
        token = CSRF_RE.search(page).group(1)
        next_url = parse_qs(urlsplit(login_url).query)["next"][0]
        status, headers, _ = self.http.request("POST", "/login", form={
            "csrf_token": token, "email": email, "password": PASSWORD, "next": next_url})
        assert status == 302, status
        _status, back, _ = self.http.request("GET", local(headers["Location"]))
        return code_of(back)


def local(location):
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def code_of(headers):
    return parse_qs(urlsplit(headers["Location"]).query)["code"][0]


def workers_cpu_seconds(master_pid):
    """CPU time (user + system) used so far by the server workers of `master_pid` (Linux /proc)."""
    with open(f"/proc/{master_pid}/task/{master_pid}/children") as fh:
        pids = fh.read().split()
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run(label, concurrency, per_thread, master_pid):
    """`per_thread(i)` returns the list of callables thread i runs in order; each call is one measurement."""
    plans = [per_thread(i) for i in range(concurrency)]
    barrier = threading.Barrier(concurrency)

    def worker(plan):
        latencies = []
        barrier.wait()
        for step in plan:
            start = time.perf_counter()
            step()
            latencies.append(time.perf_counter() - start)
        return latencies

    server_before, client_before = workers_cpu_seconds(master_pid), time.process_time()
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(x for part in pool.map(worker, plans) for x in part)
    elapsed = time.perf_counter() - start
    server_ms = (workers_cpu_seconds(master_pid) - server_before) * 1000 / len(latencies)
    client_ms = (time.process_time() - client_before) * 1000 / len(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    capacity = (os.cpu_count() or 1) * 1000 / (server_ms + client_ms)
    print(f"{label:<14} c={concurrency:<3} n={len(latencies):<5} {len(latencies) / elapsed:7.1f} req/s  "
          f"p50 {statistics.median(latencies) * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  "
          f"CPU/req server {server_ms:5.2f} ms + client {client_ms:5.2f} ms -> capacity {capacity:5.0f}/s",
          flush=True)


def bench_environment():
    """(port, settings) of a fresh instance in a temp dir: SQLite, rate limits off, mail queued."""
    port = free_port()
    instance = tempfile.mkdtemp(prefix="idp-bench-")
    return port, {"IDP_INSTANCE_DIR": instance, "IDP_BASE_URL": f"http://127.0.0.1:{port}",
                  "IDP_RATELIMIT_ENABLED": "0", "IDP_MAIL_ASYNC": "1", "IDP_SECRET_KEY": "bench-secret"}


@contextlib.contextmanager
def served(port, env, workers, ready_path):
    """`idp serve` on 127.0.0.1 as `make run` starts it (granian, access log written, here to /dev/null);
    yields the main process's pid (its children are the workers) once `ready_path` answers."""
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "idp"), "serve",
                               "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
                              env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                Http(port).request("GET", ready_path)
                break
            except OSError:
                time.sleep(0.1)
        print(f"idp serve: {workers} workers on 127.0.0.1:{port}; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.1f} before the run", flush=True)
        yield server.pid
    finally:
        server.terminate()
        server.wait(40)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=800, help="requests per measurement")
    parser.add_argument("-w", "--workers", type=int, default=2, help="idp serve workers")
    parser.add_argument("-c", "--concurrency", default="1,4,16", help="concurrency levels")
    parser.add_argument("--access-token", choices=("jwt", "opaque"), help="the client's access token format "
                        "(default: the registration default)")
    parser.add_argument("--steps", default="exchange,refresh,login", help="what to measure")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    port, env = bench_environment()
    client_id, secret = seed(env, users=max(levels), access_token_format=args.access_token)
    with served(port, env, args.workers, "/t/bench/.well-known/openid-configuration") as master_pid:
        bench(port, client_id, secret, levels, args.n, master_pid, args.steps.split(","))


def bench(port, client_id, secret, levels, n, master_pid, steps):
    auth = basic(client_id, secret)
    browsers = [Browser(port, client_id) for _ in range(max(levels))]
    for i, browser in enumerate(browsers):  # one signed-in browser per thread
        browser.login(f"user{i}@bench.example.com")
    for _ in range(8):  # warm the workers (keys are parsed once per process)
        Http(port).request("POST", "/t/bench/oidc/token", form={"grant_type": "client_credentials"}, headers=auth)

    def exchanges(i, c):
        http = Http(port)
        codes = [code_of(browsers[i].authorize()[1]) for _ in range(n // c)]  # made before the clock starts
        return [lambda code=code: _exchange(http, auth, code) for code in codes]

    def refreshes(i, c):
        http = Http(port)
        chain = [_exchange(http, auth, code_of(browsers[i].authorize("openid offline_access")[1]))["refresh_token"]]
        return [lambda: _refresh(http, auth, chain) for _ in range(n // c)]

    def logins(i, c):
        count = max(4, n // 8 // c)
        return [lambda: _full_login(port, client_id, auth, f"user{i}@bench.example.com") for _ in range(count)]

    for step, label, plan in (("exchange", "code exchange", exchanges), ("refresh", "refresh", refreshes),
                              ("login", "full login", logins)):
        if step not in steps:
            continue
        for c in levels:
            run(label, c, lambda i, c=c, plan=plan: plan(i, c), master_pid)


def _token(http, auth, form):
    status, _headers, body = http.request("POST", "/t/bench/oidc/token", form=form, headers=auth)
    if status != 200:
        raise RuntimeError(f"token endpoint answered {status}: {body[:200]}")
    return json.loads(body)


def _exchange(http, auth, code):
    return _token(http, auth, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})


def _refresh(http, auth, chain):
    """One step of this thread's rotating chain (the previous token is spent)."""
    chain[0] = _token(http, auth, {"grant_type": "refresh_token", "refresh_token": chain[0]})["refresh_token"]


def _full_login(port, client_id, auth, email):
    browser = Browser(port, client_id)
    _exchange(browser.http, auth, browser.login(email))


if __name__ == "__main__":
    main()
