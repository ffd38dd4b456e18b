"""/metrics: off the public surface (bearer token, or loopback only), Prometheus text whose counters move
with what the app does (requests, logins, token grants, SAML responses, lockouts, rate-limit refusals),
and added up across worker processes (PROMETHEUS_MULTIPROC_DIR, as `idp serve` sets it)."""
import base64
import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client.parser import text_string_to_metric_families

from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform import metrics
from idp.platform.extensions import db
from idp.saml import registry as saml_registry
from idp.tenancy import tenants
from tests.protocols.saml.conftest import make_key_pair, posted_form

TOKEN = "scrape-token-0123456789"
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def samples(response):
    """{(sample name, ((label, value), ...)): value} of a scrape."""
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(scraped, name, **labels):
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def config_overrides(request):
    """Settings a test passes with `indirect=True` parametrisation."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def scrape(client):
    """The app's metrics now, as a loopback client without a token sees them."""
    return lambda: samples(client.get("/metrics"))


@pytest.fixture
def acme(factory):
    factory.tenant("acme")
    factory.account("acme")
    return "acme"


# --- who may read them ---------------------------------------------------------------------------

def test_without_a_token_only_a_loopback_client_reads_them(client):
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    response = client.get("/metrics")  # the test client is 127.0.0.1
    assert "idp_http_requests_total" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in response.headers
    # through a proxy on the same host (not trusted, so its headers are not believed): not local
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404


@pytest.mark.parametrize("config_overrides", [{"IDP_TRUSTED_PROXIES": "127.0.0.1"}], indirect=True)
def test_a_client_behind_a_trusted_proxy_is_not_loopback(client):
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404


@pytest.mark.parametrize("config_overrides", [{"IDP_METRICS_TOKEN": TOKEN}], indirect=True)
def test_with_a_token_only_the_bearer_reads_them(client):
    assert client.get("/metrics").status_code == 404  # loopback is not enough then
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "):
        response = client.get("/metrics", headers={"Authorization": wrong}, environ_base=OUTSIDE)
        assert response.status_code == 404, wrong
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, environ_base=OUTSIDE)
    assert response.status_code == 200 and "idp_logins_total" in response.get_data(as_text=True)


def test_the_refusal_is_the_ordinary_404_page(client):
    refused = client.get("/metrics", environ_base=OUTSIDE)
    unknown = client.get("/no-such-page", environ_base=OUTSIDE)
    assert refused.status_code == unknown.status_code == 404
    assert refused.get_data(as_text=True) == unknown.get_data(as_text=True).replace("/no-such-page", "/metrics")


# --- what they count -----------------------------------------------------------------------------

def test_requests_count_by_endpoint_group_never_by_path(client, scrape, acme):
    before = scrape()
    client.get("/healthz")
    client.get("/t/acme/.well-known/openid-configuration")
    client.get("/t/acme/no/such/thing")
    after = scrape()

    def added(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)
    assert added("idp_http_requests_total", group="oidc", status="200") == 1
    assert added("idp_http_requests_total", group="health", status="200") == 2  # /healthz, the first scrape
    assert added("idp_http_requests_total", group="other", status="404") == 1
    assert added("idp_http_request_duration_seconds_count", group="oidc") == 1
    assert not any("acme" in str(labels) or "/t/" in str(labels) for _name, labels in after)


def test_every_blueprint_has_its_group(app):
    from idp.web.request_log import GROUP_OF_BLUEPRINT
    blueprints = {rule.endpoint.rsplit(".", 1)[0] for rule in app.url_map.iter_rules() if "." in rule.endpoint}
    assert blueprints <= set(GROUP_OF_BLUEPRINT), "add the new blueprint to GROUP_OF_BLUEPRINT"
    assert set(GROUP_OF_BLUEPRINT.values()) <= set(metrics.GROUPS)


def test_logins_count_by_result_and_factor_and_a_lockout_once(client, scrape, login, acme):
    before = scrape()
    assert login().status_code == 302
    client.get("/logout")
    for _ in range(5):
        assert login(password="wrong-password-1").status_code == 200
    assert login(password="wrong-password-2").status_code == 200  # already locked: not a new lockout
    after = scrape()
    assert value(after, "idp_logins_total", result="success", factor="password") == \
        value(before, "idp_logins_total", result="success", factor="password") + 1
    assert value(after, "idp_logins_total", result="failure", factor="password") >= \
        value(before, "idp_logins_total", result="failure", factor="password") + 6
    assert value(after, "idp_lockouts_total", kind="account") == value(before, "idp_lockouts_total", kind="account") + 1


def test_an_unknown_login_id_locks_as_its_own_kind(scrape, login, acme):
    before = scrape()
    for _ in range(5):
        login(email="nobody@acme.example.com")
    after = scrape()
    assert value(after, "idp_lockouts_total", kind="unknown_login_id") == \
        value(before, "idp_lockouts_total", kind="unknown_login_id") + 1


@pytest.mark.parametrize("config_overrides", [{"IDP_RATELIMIT_LOGIN_ACCOUNT": "2/minute"}], indirect=True)
def test_a_rate_limit_refusal_is_counted(scrape, login, acme):
    before = scrape()
    statuses = [login(password="wrong-password-1").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    after = scrape()
    assert value(after, "idp_ratelimit_refusals_total", kind="login", scope="account") == \
        value(before, "idp_ratelimit_refusals_total", kind="login", scope="account") + 1


def test_token_grants_count_by_grant_type_and_result(app, client, clock, scrape, acme):
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = oidc_clients.register(tenant, oidc_clients.ClientSettings(
            name="バッチ", redirect_uris=("https://rp.example.com/callback",)),
            groups=[groups.default_group(tenant)], now=clock.now(), actor=OPERATOR)
        db.session.commit()
        registration = created.as_json()
    basic = base64.b64encode(f"{registration['client_id']}:{registration['client_secret']}".encode()).decode()
    before = scrape()
    for grant_type, status in (("client_credentials", 200), ("password", 400)):
        response = client.post("/t/acme/oidc/token", data={"grant_type": grant_type},
                               headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == status, response.get_json()
    after = scrape()
    assert value(after, "idp_oidc_token_grants_total", grant_type="client_credentials", result="issued") == \
        value(before, "idp_oidc_token_grants_total", grant_type="client_credentials", result="issued") + 1
    assert value(after, "idp_oidc_token_grants_total", grant_type="other", result="unsupported_grant_type") == \
        value(before, "idp_oidc_token_grants_total", grant_type="other", result="unsupported_grant_type") + 1


def test_saml_responses_are_counted(app, client, clock, scrape, login, acme):
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = saml_registry.register(tenant, saml_registry.SpSettings(
            name="経費精算", entity_id="https://sp.example.com/metadata", acs_urls=("https://sp.example.com/acs",),
            signing_cert=make_key_pair("sp.example.com").cert), now=clock.now(), actor=OPERATOR,
            groups=[groups.default_group(tenant)])
        db.session.commit()
        sp_id = created.sp.id
    login()
    before = scrape()
    action, fields = posted_form(client.get(f"/t/acme/saml/launch/{sp_id}"))
    assert action == "https://sp.example.com/acs" and fields["SAMLResponse"]
    after = scrape()
    assert value(after, "idp_saml_responses_total", status="Success") == \
        value(before, "idp_saml_responses_total", status="Success") + 1
    assert value(after, "idp_logins_total", result="success", factor="saml") == \
        value(before, "idp_logins_total", result="success", factor="saml") + 1


def test_labels_outside_the_fixed_sets_are_other(scrape):
    before = scrape()
    metrics.count_login("success", "/t/acme/" + "x" * 50)
    metrics.observe_request("/t/acme/login", 200, 0.01)
    after = scrape()
    assert value(after, "idp_logins_total", result="success", factor="other") == \
        value(before, "idp_logins_total", result="success", factor="other") + 1
    assert value(after, "idp_http_requests_total", group="other", status="200") >= \
        value(before, "idp_http_requests_total", group="other", status="200") + 1


def test_the_outbox_queue_is_read_at_scrape_time_when_there_is_one(app, scrape, monkeypatch):
    outbox = pytest.importorskip("idp.platform.outbox")
    stats = {"pending": 3, "failed": 1, "oldest_pending_seconds": 42.5}
    monkeypatch.setattr(outbox, "queue_stats", lambda *args, **kwargs: stats)
    metrics.wire_outbox()
    metrics.wire_outbox()  # once only
    assert outbox.on_failure.count(metrics.count_outbox_failure) == 1
    before = scrape()
    for callback in outbox.on_failure:
        callback("mail", False)
    after = scrape()
    assert value(after, "idp_outbox_pending_messages") == 3
    assert value(after, "idp_outbox_failed_messages") == 1
    assert value(after, "idp_outbox_oldest_pending_seconds") == 42.5
    assert value(after, "idp_outbox_delivery_failures_total", kind="mail", gave_up="false") == \
        value(before, "idp_outbox_delivery_failures_total", kind="mail", gave_up="false") + 1


def test_an_unreadable_outbox_leaves_the_other_metrics(scrape, monkeypatch):
    outbox = pytest.importorskip("idp.platform.outbox")

    def broken(*args, **kwargs):
        raise RuntimeError("database down")
    monkeypatch.setattr(outbox, "queue_stats", broken)
    after = scrape()
    assert ("idp_outbox_pending_messages", ()) not in after
    assert any(name == "idp_http_requests_total" for name, _labels in after)


# --- several worker processes --------------------------------------------------------------------

FORKING_SERVER = textwrap.dedent("""
    import os, sys
    from idp import create_app
    create_app({"IDP_INSTANCE_DIR": sys.argv[1], "IDP_SECRET_KEY": "k", "IDP_KEY_ENCRYPTION_KEY": None})
    assert "prometheus_client" not in sys.modules, "imported before the workers fork"
    from idp.platform import metrics
    metrics.use_multiprocess_folder(os.path.join(sys.argv[1], "metrics"))  # what `idp serve` does
    for worker in range(2):
        pid = os.fork()
        if pid == 0:
            metrics.count_login("success", "totp")
            metrics.observe_request("saml", 200, 0.02 * (worker + 1))
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
""")


def test_two_worker_processes_are_added_up(client, tmp_path, monkeypatch):
    instance = tmp_path / "served"
    stale = instance / "metrics"
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"left by the last run")  # emptied at start
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop(metrics.MULTIPROC_ENV, None)
    done = subprocess.run([sys.executable, "-c", FORKING_SERVER, str(instance)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert oct(os.stat(stale).st_mode & 0o777) == "0o700"
    files = {path.name for path in stale.glob("*.db")}
    assert "counter_1.db" not in files and len({name.rsplit("_", 1)[1] for name in files}) == 2  # two pids
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(stale))
    scraped = samples(client.get("/metrics"))
    assert value(scraped, "idp_logins_total", result="success", factor="totp") == 2
    assert value(scraped, "idp_http_requests_total", group="saml", status="200") == 2
    assert value(scraped, "idp_http_request_duration_seconds_count", group="saml") == 2
    assert value(scraped, "idp_http_request_duration_seconds_sum", group="saml") == pytest.approx(0.06)


def test_stale_worker_files_are_removed_and_the_folder_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv(metrics.MULTIPROC_ENV, "")  # restored (unset) after the test
    folder = tmp_path / "metrics"
    folder.mkdir(mode=0o755)
    (folder / "counter_99.db").write_bytes(b"old")
    metrics.use_multiprocess_folder(str(folder))
    assert os.environ[metrics.MULTIPROC_ENV] == str(folder)
    assert list(folder.iterdir()) == [] and oct(os.stat(folder).st_mode & 0o777) == "0o700"
