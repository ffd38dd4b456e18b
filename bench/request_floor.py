"""The cost of answering at all (a script, not a test): how many requests per second this machine serves
through compare.sh's own load generator when the answer does no work, at three depths of our stack.

`.venv/bin/python bench/request_floor.py [--concurrency 8,32] [--duration 10] [--perf-dir ../shared/perf]`

  wsgi      granian, 2 WSGI workers, one request thread each, a bare WSGI callable answering a fixed JSON body
  flask     the same server, an empty Flask app with one route answering the same JSON (no hooks, no extensions)
  healthz   `idp serve --workers 2` on a fresh SQLite instance, GET /healthz: the app's whole request
            machinery (proxies, request id, security headers, rate-limit bookkeeping, metrics, access line)
            and no I/O, i.e. what every endpoint of the IdP costs before its own work

Each runs ../shared/perf/loadgen.py's `ping` scenario (aiohttp + uvloop, one keep-alive connection per
virtual user, closed loop, 3 s warm-up) in the harness's venv (/tmp/idp-perf/cache/venv, made by
compare.sh). Run it in the same sitting as `../shared/perf/run.sh oidc-provider` to compare: a rate here
bounds from above what any endpoint at that depth can reach on this machine (docs/performance.md).
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BODY = b'{"access_token":"x","token_type":"Bearer","expires_in":3600}'

BARE_APPS = textwrap.dedent(f"""
    from flask import Flask, Response

    BODY = {BODY!r}
    HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


    def wsgi(environ, start_response):
        start_response("200 OK", HEADERS)
        return [BODY]


    flask = Flask(__name__)


    @flask.route("/", methods=["GET", "POST"])
    def answer():
        return Response(BODY, content_type="application/json")
""")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url, process, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped: {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"no answer from {url}")


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bare_server(workdir, target, port):
    with open(os.path.join(workdir, "bare_apps.py"), "w") as module:
        module.write(BARE_APPS)
    command = [os.path.join(ROOT, ".venv", "bin", "granian"), "--interface", "wsgi", "--workers", "2",
               "--blocking-threads", "1", "--no-ws", "--host", "127.0.0.1", "--port", str(port),
               f"bare_apps:{target}"]
    return subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), "/"


def idp_server(workdir, port):
    env = dict(os.environ, IDP_INSTANCE_DIR=os.path.join(workdir, "instance"),
               IDP_BASE_URL=f"http://127.0.0.1:{port}", IDP_MAIL_TRANSPORT="outbox")
    idp = os.path.join(ROOT, ".venv", "bin", "idp")
    subprocess.run([idp, "demo", "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
    return subprocess.Popen([idp, "serve", "--workers", "2", "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL), "/healthz"


def measure(loadgen, python, url, concurrency, duration, workdir):
    config = os.path.join(workdir, "ping.json")
    with open(config, "w") as out:
        json.dump({"ping_url": url}, out)
    answer = subprocess.run([python, loadgen, "ping", "--config", config, "-c", str(concurrency),
                             "-d", str(duration)], capture_output=True, text=True, check=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--perf-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "perf"))
    parser.add_argument("--python", default="/tmp/idp-perf/cache/venv/bin/python",
                        help="the harness's venv (aiohttp, uvloop)")
    parser.add_argument("--only", default="wsgi,flask,healthz")
    args = parser.parse_args()
    loadgen = os.path.join(args.perf_dir, "loadgen.py")
    print(f"{'depth':<9}{'c':>4}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for depth in args.only.split(","):
        with tempfile.TemporaryDirectory() as workdir:
            port = free_port()
            process, path = idp_server(workdir, port) if depth == "healthz" else bare_server(workdir, depth, port)
            url = f"http://127.0.0.1:{port}{path}"
            try:
                wait_until_up(url, process)
                for concurrency in (int(c) for c in args.concurrency.split(",")):
                    result = measure(loadgen, args.python, url, concurrency, args.duration, workdir)
                    print(f"{depth:<9}{concurrency:>4}{result['rate']:>10.0f}{result['p50_ms']:>9.2f}"
                          f"{result['p99_ms']:>9.2f}{result['errors']:>8}", flush=True)
            finally:
                stop(process)


if __name__ == "__main__":
    sys.exit(main())
