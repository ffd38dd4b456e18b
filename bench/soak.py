"""Soak test of the deployment (a script, not a test):
`.venv/bin/python bench/soak.py [--minutes 10] [--clients 32] [--instances 2] [--workers 1]`.

Starts the topology of docs/deploy.md on loopback ports, exactly as tests/e2e/test_topology.py does
(tests/support/topology.py: PostgreSQL, Redis, N `idp serve` instances from deploy/systemd and
deploy/env.example, nginx with deploy/nginx/matome-idp.conf and a self-signed certificate), seeds a tenant
with one user per client, an OIDC client and a SAML SP, then runs C clients for the given minutes. Each
client is a browser with its own SSO session, going through nginx over TLS (keep-alive), and repeats a
mixed workload, picked at random with these weights:
  login   3  a new browser: login page, password (argon2id), portal page
  oidc    3  SSO to the OIDC app: authorize (no login page: the session) → code → token
  refresh 3  the client's rotating refresh-token chain, one step
  saml    3  SSO to the SAML app: HTTP-Redirect AuthnRequest → signed Response (auto-post page)
  admin   1  the admin's account search (by name)
Rate limits stay on, in Redis, with limits far above the load (one source address for every client).
Mail goes to the outbox folder. Prints, per kind: count, errors, rate, p50/p95/p99 latency; then the
first error messages of each kind, if any, and each worker's resident memory (RSS) after the run.
Exit status 1 when any request failed.
"""
import argparse
import collections
import glob
import os
import random
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.support.topology import Browser, Topology, seed  # noqa: E402  (the topology test's start-up)
from tests.support.topology_flows import (  # noqa: E402
    FlowError, admin_search, expect, oidc_sign_in, refresh, saml_sign_in)

PASSWORD = "Sakura-Blossom-2026"
WEIGHTS = {"login": 3, "oidc": 3, "refresh": 3, "saml": 3, "admin": 1}
SOAK_ENV = {"IDP_MAIL_TRANSPORT": "outbox", "IDP_LOG_FORMAT": "text",
            "IDP_RATELIMIT_LOGIN_IP": "100000/minute", "IDP_RATELIMIT_LOGIN_ACCOUNT": "100000/minute"}


class Client:
    """One simulated user (user{i}) with an SSO session and a refresh-token chain; the admin's browser."""

    def __init__(self, topology, seeded, index):
        self.topology, self.seeded = topology, seeded
        self.email = f"user{index}@acme.example.com"
        self.browser = Browser(topology)
        expect(self.browser.login(self.email, PASSWORD), 302, "first login")
        self.refresh_token = oidc_sign_in(self.browser, seeded)["refresh_token"]
        self.admin = Browser(topology)
        expect(self.admin.login("admin@acme.example.com", PASSWORD), 302, "admin login")

    def login(self):
        fresh = Browser(self.topology)
        expect(fresh.login(self.email, PASSWORD), 302, "login")
        page = expect(fresh.get("/"), 200, "portal")
        if self.email.split("@")[0].replace("user", "利用者 ") not in page.text:
            raise FlowError("portal: the user's name is missing")
        fresh.close()

    def oidc(self):
        oidc_sign_in(self.browser, self.seeded, scope="openid profile email")

    def refresh(self):
        self.refresh_token = refresh(self.browser, self.seeded, self.refresh_token)["refresh_token"]

    def saml(self):
        if self.email.encode() not in saml_sign_in(self.browser, self.seeded):
            raise FlowError("SAML: the assertion does not name the user")

    def search(self):
        if "利用者 1" not in admin_search(self.admin, {"name": "利用者 1"}):
            raise FlowError("admin search: the account is missing")


def run_client(client, deadline, results, errors, seed_value):
    chooser = random.Random(seed_value)
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    steps = {"login": client.login, "oidc": client.oidc, "refresh": client.refresh, "saml": client.saml,
             "admin": client.search}
    while time.monotonic() < deadline:
        kind = chooser.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            steps[kind]()
            results[kind].append(time.perf_counter() - started)
        except Exception as exc:  # counted and shown, the client goes on
            errors[kind].append(f"{type(exc).__name__}: {str(exc)[:200]}")
            if kind == "refresh":  # the chain may be spent: start a new one
                try:
                    client.refresh_token = oidc_sign_in(client.browser, client.seeded)["refresh_token"]
                except Exception:
                    pass


def percentile(values, p):
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def report(results, errors, elapsed):
    print(f"{'kind':<8} {'n':>7} {'errors':>7} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    every = []
    for kind in WEIGHTS:
        values = sorted(results[kind])
        every += values
        print(f"{kind:<8} {len(values):>7} {len(errors[kind]):>7} {len(values) / elapsed:>7.1f} "
              f"{statistics.median(values) * 1000 if values else float('nan'):>8.1f} "
              f"{percentile(values, 0.95) * 1000:>8.1f} {percentile(values, 0.99) * 1000:>8.1f}")
    every.sort()
    failed = sum(len(e) for e in errors.values())
    print(f"{'all':<8} {len(every):>7} {failed:>7} {len(every) / elapsed:>7.1f} "
          f"{statistics.median(every) * 1000 if every else float('nan'):>8.1f} "
          f"{percentile(every, 0.95) * 1000:>8.1f} {percentile(every, 0.99) * 1000:>8.1f}")
    for kind, messages in errors.items():
        for message, count in collections.Counter(messages).most_common(3):
            print(f"  {kind}: {count} × {message}")
    return failed


def worker_rss_mb(topology):
    """Resident memory (VmRSS, MB) of every `idp serve` worker of the topology (Linux /proc)."""
    sizes = []
    for instance in topology.instances:
        children = []
        for path in glob.glob(f"/proc/{instance.process.pid}/task/*/children"):
            with open(path) as fh:
                children += fh.read().split()
        for pid in children:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"resource_tracker" in fh.read():  # multiprocessing's helper, not a worker
                    continue
            with open(f"/proc/{pid}/status") as fh:
                rss = next(line for line in fh if line.startswith("VmRSS:"))
            sizes.append(int(rss.split()[1]) / 1024)
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="idp serve workers per instance")
    args = parser.parse_args()
    topology = Topology(tempfile.mkdtemp(prefix="idp-soak-"), instances=args.instances, workers=args.workers,
                        env=SOAK_ENV)
    try:
        topology.start()
        seeded = seed(topology.app(), users=args.clients, password=PASSWORD)
        clients = [Client(topology, seeded, i) for i in range(args.clients)]
        print(f"{args.instances} instances × {args.workers} workers behind nginx ({topology.url}), PostgreSQL, "
              f"Redis; {args.clients} clients for {args.minutes:g} min; {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} before the run", flush=True)
        results, errors = collections.defaultdict(list), collections.defaultdict(list)
        started = time.monotonic()
        deadline = started + args.minutes * 60
        threads = [threading.Thread(target=run_client, args=(client, deadline, results, errors, i))
                   for i, client in enumerate(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failed = report(results, errors, time.monotonic() - started)
        sizes = worker_rss_mb(topology)
        print("worker RSS after the run: " + ", ".join(f"{size:.0f} MB" for size in sizes)
              + (f" (max {max(sizes):.0f} MB)" if sizes else ""))
    finally:
        topology.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
