"""Token-endpoint benchmark (a script, not a test): `.venv/bin/python bench/oidc.py [-n 400] [-w 2]`.

Starts the app under gunicorn on 127.0.0.1 (fresh instance in a temp dir, rate limits off),
registers a confidential client, then measures at a few concurrency levels:
  - code exchanges (authorization_code with an RS256 ID token; codes made beforehand),
  - refreshes (each thread follows its own rotating refresh-token chain),
  - full browserless logins (authorize → login form → password → code → token; argon2id).
Prints requests/s and p50/p99 latency of the measured step.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PASSWORD = "Sakura-Blossom-2026"
REDIRECT_URI = "https://rp.example.com/cb"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(env, users):
    """Tenant, users and one client, created through the services (same instance dir as gunicorn)."""
    os.environ.update(env)
    from idp import accounts, create_app, groups, oidc_clients, tenants
    from idp.audit import OPERATOR
    from idp.clock import utcnow
    from idp.extensions import db
    app = create_app()
    with app.app_context():
        now = utcnow()
        tenant = tenants.create_tenant(slug="bench", company_name="Bench", owner_email="owner@bench.example.com",
                                       admin_email="admin@bench.example.com", admin_password=PASSWORD,
                                       now=now, actor=OPERATOR).tenant
        for i in range(users):
            accounts.create_account(tenant, email=f"user{i}@bench.example.com", name=f"User {i}",
                                    password=PASSWORD, now=now, actor=OPERATOR)
        created = oidc_clients.register(tenant, name="bench", redirect_uris=[REDIRECT_URI], now=now, actor=OPERATOR,
                                        groups=[groups.default_group(tenant)])
        db.session.commit()
        return created.client.client_id, created.client_secret


class Browser:
    def __init__(self, base, client_id):
        self.base, self.client_id = base, client_id
        self.http = requests.Session()

    def authorize(self, scope="openid profile email"):
        return self.http.get(f"{self.base}/t/bench/oidc/authorize", allow_redirects=False, params={
            "response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT_URI, "scope": scope,
            "state": "s", "nonce": "n"})

    def login(self, email, scope="openid profile email"):
        """authorize → login page → password → code (the browser part of a login)."""
        first = self.authorize(scope)
        login_url = first.headers["Location"]
        page = self.http.get(self.base + login_url if login_url.startswith("/") else login_url)
        token = CSRF_RE.search(page.text).group(1)
        next_url = parse_qs(urlsplit(login_url).query)["next"][0]
        posted = self.http.post(f"{self.base}/login", allow_redirects=False,
                                data={"csrf_token": token, "email": email, "password": PASSWORD, "next": next_url})
        back = self.http.get(self.base + posted.headers["Location"], allow_redirects=False)
        return code_of(back)


def code_of(response):
    return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]


def run(label, concurrency, per_thread):
    """`per_thread(i)` returns the list of callables thread i runs in order; each call is one measurement."""
    plans = [per_thread(i) for i in range(concurrency)]

    def worker(plan):
        latencies = []
        for step in plan:
            start = time.perf_counter()
            step()
            latencies.append(time.perf_counter() - start)
        return latencies

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(x for part in pool.map(worker, plans) for x in part)
    elapsed = time.perf_counter() - start
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{label:<14} c={concurrency:<3} n={len(latencies):<5} {len(latencies) / elapsed:8.1f} req/s   "
          f"p50 {statistics.median(latencies) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=800, help="requests per measurement")
    parser.add_argument("-w", "--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("-c", "--concurrency", default="1,4,16", help="concurrency levels")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    instance = tempfile.mkdtemp(prefix="idp-bench-")
    env = {"IDP_INSTANCE_DIR": instance, "IDP_BASE_URL": base, "IDP_RATELIMIT_ENABLED": "0",
           "IDP_MAIL_ASYNC": "1", "IDP_SECRET_KEY": "bench-secret"}
    client_id, secret = seed(env, users=max(levels))
    server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-w", str(args.workers),
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "idp:create_app()"],
                              env={**os.environ, **env}, cwd=ROOT)
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/t/bench/.well-known/openid-configuration", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        bench(base, client_id, secret, levels, args.n)
    finally:
        server.terminate()
        server.wait(10)


def bench(base, client_id, secret, levels, n):
    token_url = f"{base}/t/bench/oidc/token"
    browsers = [Browser(base, client_id) for _ in range(max(levels))]
    for i, browser in enumerate(browsers):  # one signed-in browser per thread
        browser.login(f"user{i}@bench.example.com")
    for _ in range(8):  # warm the workers (keys are parsed once per process)
        requests.post(token_url, auth=(client_id, secret), data={"grant_type": "client_credentials"})

    def exchanges(i, c):
        session = requests.Session()
        codes = [code_of(browsers[i].authorize()) for _ in range(n // c)]  # made before the clock starts
        return [lambda code=code: _exchange(session, token_url, client_id, secret, code) for code in codes]

    def refreshes(i, c):
        session = requests.Session()
        chain = [_exchange(session, token_url, client_id, secret,
                           code_of(browsers[i].authorize("openid offline_access")))["refresh_token"]]
        return [lambda: _refresh(session, token_url, client_id, secret, chain) for _ in range(n // c)]

    def logins(i, c):
        count = max(4, n // 8 // c)
        return [lambda: _full_login(base, client_id, secret, f"user{i}@bench.example.com") for _ in range(count)]

    for label, plan in (("code exchange", exchanges), ("refresh", refreshes), ("full login", logins)):
        for c in levels:
            run(label, c, lambda i, c=c, plan=plan: plan(i, c))


def _exchange(session, url, client_id, secret, code):
    response = session.post(url, auth=(client_id, secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    response.raise_for_status()
    return response.json()


def _refresh(session, url, client_id, secret, chain):
    """One step of this thread's rotating chain (the previous token is spent)."""
    response = session.post(url, auth=(client_id, secret), data={"grant_type": "refresh_token",
                                                                 "refresh_token": chain[0]})
    response.raise_for_status()
    chain[0] = response.json()["refresh_token"]


def _full_login(base, client_id, secret, email):
    browser = Browser(base, client_id)
    _exchange(browser.http, f"{base}/t/bench/oidc/token", client_id, secret, browser.login(email))


if __name__ == "__main__":
    main()
