"""openid-client for node (panva, OpenID-certified) against the app served over real HTTPS.

openid-client is installed with npm into tests/output/node (ignored by git) on first use; without node
or npm (offline) the tests using the `openid_client` fixture are skipped. A test module imports the
fixtures it uses (`openid_client`, `tls`, `config_overrides`, `live`), drives our login form like a
browser with `browser_login`, and runs its own ES module script with `run_node`."""
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import STRONG_PASSWORD
from tests.protocols.oidc.conftest import REDIRECT_URI
from tests.protocols.oidc.live_server import config_overrides, live, tls  # noqa: F401  (fixtures for the tests)

NODE_DIR = Path(__file__).resolve().parents[1] / "output" / "node"
OPENID_CLIENT = "openid-client@6.9.1"
CSRF_MARK = 'name="csrf_token" value="'


@pytest.fixture(scope="module")
def openid_client():
    """The path of openid-client's ES module (installed on first use), or the test is skipped."""
    module = NODE_DIR / "node_modules" / "openid-client" / "build" / "index.js"
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed for openid-client")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    with open(NODE_DIR / ".install.lock", "w") as lock:  # pytest-xdist workers install one at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not module.exists():
            installed = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR),
                                        OPENID_CLIENT], capture_output=True, text=True, timeout=300)
            if installed.returncode != 0 or not module.exists():
                pytest.skip(f"npm could not install {OPENID_CLIENT}: {installed.stderr[-300:]}")
    return module


def https_browser(tls_files):
    browser = requests.Session()
    browser.verify, browser.trust_env = tls_files["cert"], False
    return browser


def browser_login(browser, url, base, email="taro@acme.example.com"):
    """authorize URL → our login form → back to authorize → the callback URL with the code."""
    first = browser.get(url, allow_redirects=False)
    assert first.status_code == 302 and "/login?" in first.headers["Location"], first.text[:300]
    page = browser.get(base + first.headers["Location"])
    csrf = page.text.split(CSRF_MARK, 1)[1].split('"', 1)[0]
    posted = browser.post(f"{base}/login", allow_redirects=False, headers={"Referer": page.url}, data={
        "csrf_token": csrf, "email": email, "password": STRONG_PASSWORD,
        "next": parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]})
    assert posted.status_code == 302, posted.text[:300]
    back = browser.get(base + posted.headers["Location"], allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"].startswith(REDIRECT_URI + "?")
    return back.headers["Location"]


def run_node(script, module, tls_files, tmp_path, *args, name="rp.mjs"):
    """Run `script` (with %(module)s for openid-client's path) with `args`; its JSON output."""
    path = tmp_path / name
    path.write_text(script % {"module": module.as_uri()})
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": tls_files["cert"], "NO_PROXY": "127.0.0.1"}
    run = subprocess.run(["node", str(path), *args], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)
