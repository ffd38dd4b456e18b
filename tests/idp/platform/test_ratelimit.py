"""Rate limits: IP and account scopes count independently, refused hits count nothing, the office at
9:00 passes, 429 + Retry-After page, settings validated at startup, Redis shared by two instances.

The `limits` library runs on real time, so these tests use small limits (per minute: nothing expires
during a test) and one short per-second window where the expiry itself is tested.
"""
import logging
import re
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

import idp.platform.ratelimit as ratelimit_module
import tests.support.redis as redis_support
from idp.platform import metrics, ratelimit
from idp.platform.config import RATELIMIT_DEFAULTS, ConfigError, load_config
from idp.platform.ratelimit import KINDS, SCOPES, RateLimited, setting_name
from tests.support.apps import app_builder
from tests.support.redis import RedisServer, require_redis_server

pytestmark = pytest.mark.sqlite_only  # no database involved; once is enough

OFFICE_IP = "203.0.113.10"
OTHER_IP = "198.51.100.7"
TARO = "taro@acme.example.com"
HANAKO = "hanako@acme.example.com"
SMALL_LIMITS = {
    "IDP_RATELIMIT_LOGIN_IP": "3/minute",
    "IDP_RATELIMIT_LOGIN_ACCOUNT": "2/minute;50/hour",
}
MESSAGE_JA = "リクエストが多すぎます。しばらく待ってから再度お試しください。"


@pytest.fixture
def config_overrides(request):
    """Small login limits unless a test passes its own with `indirect=True` parametrisation."""
    return dict(getattr(request, "param", SMALL_LIMITS))


@pytest.fixture
def make_app(tmp_path):
    """Further apps (instances) on their own instance folders; engines disposed afterwards."""
    with app_builder(lambda n, **overrides: {
            "IDP_INSTANCE_DIR": str(tmp_path / f"instance{n}"), "IDP_DATABASE_URL": None,
            "IDP_SECRET_KEY": "test-secret-key", "IDP_BASE_URL": "http://127.0.0.1:8000",
            "IDP_MAIL_TRANSPORT": "outbox", "TESTING": True, **overrides}) as make:
        yield make


def hits_until_refused(kind, max_hits, **keys):
    """Hit until RateLimited; return (number of hits that passed, the exception)."""
    for passed in range(max_hits + 1):
        try:
            ratelimit.hit(kind, **keys)
        except RateLimited as exc:
            return passed, exc
    return max_hits + 1, None


def test_ip_limit_counts_every_account_from_that_ip(app):
    with app.app_context():
        for n in range(3):
            ratelimit.hit("login", ip=OFFICE_IP, account=f"user{n}@acme.example.com")
        with pytest.raises(RateLimited) as refused:
            ratelimit.hit("login", ip=OFFICE_IP, account="user9@acme.example.com")
        assert (refused.value.kind, refused.value.scope) == ("login", "ip")
        ratelimit.hit("login", ip=OTHER_IP, account="user0@acme.example.com")  # other IP, same account: fine


def test_account_limit_counts_every_ip(app):
    with app.app_context():
        ratelimit.hit("login", ip="192.0.2.1", account=TARO)
        ratelimit.hit("login", ip="192.0.2.2", account=" Taro@ACME.example.com ")  # same login ID, normalised
        with pytest.raises(RateLimited) as refused:
            ratelimit.hit("login", ip="192.0.2.3", account=TARO)
        assert refused.value.scope == "account"
        ratelimit.hit("login", ip="192.0.2.3", account=HANAKO)  # the IP itself still has room


def test_refused_hit_counts_in_no_scope(app):
    with app.app_context():
        for n in range(3):
            ratelimit.hit("login", ip=OFFICE_IP, account=f"user{n}@acme.example.com")
        for _ in range(5):  # refused by the IP scope: Taro's account counter must not move
            with pytest.raises(RateLimited):
                ratelimit.hit("login", ip=OFFICE_IP, account=TARO)
        assert not ratelimit.is_limited("login", account=TARO)
        ratelimit.hit("login", ip=OTHER_IP, account=TARO)
        ratelimit.hit("login", ip=OTHER_IP, account=TARO)
        assert ratelimit.is_limited("login", account=TARO)
        ratelimit.hit("login", ip="192.0.2.99", account=HANAKO)  # refused account hits did not count either
        with pytest.raises(RateLimited):
            ratelimit.hit("login", ip=OTHER_IP, account=TARO)
        ratelimit.hit("login", ip=OTHER_IP, account=HANAKO)


@pytest.mark.parametrize("config_overrides", [{}], indirect=True)
def test_whole_office_logs_in_at_nine_with_default_limits(app):
    with app.app_context():
        for n in range(100):  # 100 staff, one shared office IP, within a minute
            ratelimit.hit("login", ip=OFFICE_IP, account=f"staff{n:03}@acme.example.com")
        for n in range(3):  # a few typos on top
            ratelimit.hit("login", ip=OFFICE_IP, account=f"staff{n:03}@acme.example.com")
        passed, refused = hits_until_refused("login", 300, ip=OFFICE_IP, account=None)
        assert passed == 300 - 103  # the default per-IP limit is 300 per 5 minutes
        assert refused.scope == "ip"
        passed, refused = hits_until_refused("login", 10, ip=OTHER_IP, account=TARO)
        assert passed == 10 and refused.scope == "account"  # …and 10 per minute per account


def test_refusal_carries_a_positive_retry_after(app):
    with app.app_context():
        passed, refused = hits_until_refused("login", 2, account=TARO)
        assert passed == 2
        assert isinstance(refused.retry_after, int) and 1 <= refused.retry_after <= 60
        assert refused.status_code == 429


@pytest.mark.parametrize("config_overrides", [{"IDP_RATELIMIT_CODE_ACCOUNT": "1/second"}], indirect=True)
def test_hit_passes_again_after_retry_after(app):
    with app.app_context():
        ratelimit.hit("code", account="account:1")
        with pytest.raises(RateLimited) as refused:
            ratelimit.hit("code", account="account:1")
        assert refused.value.retry_after == 1
        time.sleep(refused.value.retry_after + 0.05)
        ratelimit.hit("code", account="account:1")


def test_kinds_are_counted_apart_and_reset_forgets(app):
    with app.app_context():
        ratelimit.hit("login", account=TARO)
        ratelimit.hit("login", account=TARO)
        assert ratelimit.is_limited("login", account=TARO)
        assert not ratelimit.is_limited("reset_request", account=TARO)
        ratelimit.reset("login", account=TARO)
        assert not ratelimit.is_limited("login", account=TARO)
        with pytest.raises(ValueError, match="unknown rate-limit kind"):
            ratelimit.hit("logn", account=TARO)


def test_ipv6_counts_per_64_and_mapped_ipv4_as_ipv4(app):
    with app.app_context():
        ratelimit.hit("login", ip="2001:db8:1:2::1")
        ratelimit.hit("login", ip="2001:db8:1:2:aaaa::2")
        ratelimit.hit("login", ip="2001:db8:1:2:ffff::3")
        assert ratelimit.is_limited("login", ip="2001:db8:1:2::99")
        assert not ratelimit.is_limited("login", ip="2001:db8:1:3::1")
        for _ in range(3):
            ratelimit.hit("login", ip="::ffff:192.0.2.44")
        assert ratelimit.is_limited("login", ip="192.0.2.44")


def test_missing_keys_skip_their_scope(app):
    with app.app_context():
        for _ in range(5):
            ratelimit.hit("login", ip="", account=None)
            ratelimit.hit("login", ip=None, account="  ")


def test_account_identifiers_are_hashed_in_storage_and_logs(app, caplog):
    caplog.set_level(logging.INFO)
    with app.app_context():
        hits_until_refused("login", 2, ip=OFFICE_IP, account=TARO)
        storage = app.extensions["idp_ratelimit"].storage
        keys = " ".join(storage.events)
    assert "taro" not in keys.lower() and OFFICE_IP in keys
    assert app.extensions["idp_ratelimit"].account_key(TARO) in keys
    assert caplog.text and "taro" not in caplog.text.lower()


@pytest.mark.parametrize("config_overrides", [
    {"IDP_RATELIMIT_ENABLED": "0"}, {"IDP_RATELIMIT_ENABLED": False}, {"IDP_RATELIMIT_ENABLED": "off"},
], indirect=True)
def test_disabled_limits_nothing(app):
    with app.app_context():
        for _ in range(20):
            ratelimit.hit("login", ip=OFFICE_IP, account=TARO)
        assert not ratelimit.is_limited("login", ip=OFFICE_IP, account=TARO)


@pytest.mark.parametrize("config_overrides", [{"IDP_RATELIMIT_LOGIN_ACCOUNT": "off",
                                               "IDP_RATELIMIT_LOGIN_IP": "1/minute"}], indirect=True)
def test_off_disables_one_scope(app):
    with app.app_context():
        for n in range(5):
            ratelimit.hit("login", ip=f"192.0.2.{n}", account=TARO)
        with pytest.raises(RateLimited) as refused:
            ratelimit.hit("login", ip="192.0.2.0", account=TARO)
        assert refused.value.scope == "ip"


# --- the 429 page -------------------------------------------------------------------------------

@pytest.fixture
def limited_route(app):
    """A throwaway view that counts one `login` hit for its client IP and a fixed account."""
    from flask import request

    def _view():
        ratelimit.hit("login", ip=request.remote_addr, account=TARO)
        return "ok"

    app.add_url_rule("/_test/limited", "test_limited", _view)
    return "/_test/limited"


def test_over_the_limit_is_a_429_page_with_retry_after(client, limited_route):
    assert client.get(limited_route).status_code == 200
    assert client.get(limited_route).status_code == 200
    response = client.get(limited_route)
    assert response.status_code == 429
    assert re.fullmatch(r"[1-9][0-9]*", response.headers["Retry-After"])
    assert int(response.headers["Retry-After"]) <= 60
    page = response.get_data(as_text=True)
    assert MESSAGE_JA in page and "(429)" in page
    assert "text/html" in response.headers["Content-Type"]


def test_429_page_in_english(client, limited_route):
    client.set_cookie("lang", "en")
    for _ in range(2):
        client.get(limited_route)
    response = client.get(limited_route)
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert "Too many requests" in response.get_data(as_text=True)


# --- settings -----------------------------------------------------------------------------------

def test_every_kind_and_scope_has_a_setting_and_the_docstring_table_matches():
    table = dict(re.findall(r"^\| `(IDP_RATELIMIT_\w+)` \| `([^`]*)` \|", ratelimit_module.__doc__, re.M))
    expected = {setting_name(kind, scope) for kind in KINDS for scope in SCOPES}
    assert set(RATELIMIT_DEFAULTS) == expected
    assert table == {**RATELIMIT_DEFAULTS, "IDP_RATELIMIT_ENABLED": "1", "IDP_RATELIMIT_STORAGE": "memory://"}
    for name, value in RATELIMIT_DEFAULTS.items():
        assert ratelimit_module.parse_limits(name, value)


def test_settings_come_from_the_environment():
    config = load_config({"IDP_RATELIMIT_LOGIN_IP": "5/second", "IDP_RATELIMIT_STORAGE": "redis://h:6379/1",
                          "IDP_RATELIMIT_CODE_ACCOUNT": ""})
    assert config["IDP_RATELIMIT_LOGIN_IP"] == "5/second"
    assert config["IDP_RATELIMIT_STORAGE"] == "redis://h:6379/1"
    assert config["IDP_RATELIMIT_CODE_ACCOUNT"] == RATELIMIT_DEFAULTS["IDP_RATELIMIT_CODE_ACCOUNT"]
    assert config["IDP_RATELIMIT_ENABLED"] == "1"


@pytest.mark.parametrize("overrides, message", [
    ({"IDP_RATELIMIT_LOGIN_IP": "300 a minute"}, "IDP_RATELIMIT_LOGIN_IP: cannot parse '300 a minute'"),
    ({"IDP_RATELIMIT_LOGIN_ACCOUNT": "10/minute;60/fortnight"}, "IDP_RATELIMIT_LOGIN_ACCOUNT: cannot parse"),
    ({"IDP_RATELIMIT_CODE_ACCOUNT": "0/minute"}, "IDP_RATELIMIT_CODE_ACCOUNT: 0 per 1 minute allows nothing"),
    ({"IDP_RATELIMIT_LINK_IP": "10/minute;;"}, "IDP_RATELIMIT_LINK_IP: cannot parse"),
    ({"IDP_RATELIMIT_ENABLED": "maybe"}, "IDP_RATELIMIT_ENABLED must be one of"),
    ({"IDP_RATELIMIT_STORAGE": "nosuch://127.0.0.1"},
     "IDP_RATELIMIT_STORAGE 'nosuch://127.0.0.1' cannot be used"),
    ({"IDP_RATELIMIT_STORAGE": "memcached://127.0.0.1:11211"}, "IDP_RATELIMIT_STORAGE 'memcached://"),
    ({"IDP_RATELIMIT_STORAGE": "redis://:s3cret@127.0.0.1:port/0"},
     "IDP_RATELIMIT_STORAGE 'redis://:***@127.0.0.1:port/0' cannot be used"),
])
def test_bad_settings_stop_the_app_at_startup(make_app, overrides, message):
    with pytest.raises(ConfigError) as error:
        make_app(**overrides)
    assert message in str(error.value)
    assert "s3cret" not in str(error.value)


def test_unreachable_storage_counts_in_memory_and_logs_once(make_app, caplog):
    with socket_closed_port() as port:
        application = make_app(IDP_RATELIMIT_STORAGE=f"redis://:pw@127.0.0.1:{port}/0",
                               IDP_RATELIMIT_LOGIN_ACCOUNT="1/minute")
        with application.app_context():
            ratelimit.hit("login", ip=OFFICE_IP, account=TARO)
            assert ratelimit.is_limited("login", account=TARO)
            with pytest.raises(RateLimited):
                ratelimit.hit("login", ip=OFFICE_IP, account=TARO)
    assert caplog.text.count("rate-limit storage unreachable") == 1
    assert "not reachable" in caplog.text and ":***@" in caplog.text and "pw@" not in caplog.text


class socket_closed_port:
    """A port on 127.0.0.1 that nothing listens on (bound without listen, so connections are refused)."""

    def __enter__(self):
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


# --- Redis: one counter for every instance ------------------------------------------------------

@pytest.fixture(scope="module")
def redis_url():
    server = RedisServer(require_redis_server())
    yield server.start()
    server.stop()


@pytest.fixture
def redis_client(redis_url):
    import redis
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def test_redis_storage_is_shared_by_two_instances(make_app, redis_url, redis_client):
    settings = {"IDP_RATELIMIT_STORAGE": redis_url, "IDP_RATELIMIT_LOGIN_ACCOUNT": "2/minute",
                "IDP_RATELIMIT_LOGIN_IP": "3/minute"}
    first, second = make_app(**settings), make_app(**settings)
    with first.app_context():
        ratelimit.hit("login", ip="192.0.2.1", account=TARO)
    with second.app_context():
        ratelimit.hit("login", ip="192.0.2.2", account=TARO)
        with pytest.raises(RateLimited) as refused:
            ratelimit.hit("login", ip="192.0.2.3", account=TARO)
        assert refused.value.scope == "account" and 1 <= refused.value.retry_after <= 60
        ratelimit.hit("login", ip="192.0.2.3", account=HANAKO)
        ratelimit.hit("login", ip="192.0.2.3", account="jiro@acme.example.com")
    with first.app_context():
        assert ratelimit.is_limited("login", account=TARO)
        # the refused hit of Taro did not count for the IP: one slot is left
        ratelimit.hit("login", ip="192.0.2.3", account="saburo@acme.example.com")
        with pytest.raises(RateLimited) as refused:
            ratelimit.hit("login", ip="192.0.2.3", account="shiro@acme.example.com")
        assert refused.value.scope == "ip"
    keys = " ".join(key.decode() for key in redis_client.keys("*"))
    assert "192.0.2.3" in keys
    assert "acme" not in keys and "taro" not in keys


def test_redis_limits_http_requests_of_both_instances(make_app, redis_url, redis_client):
    settings = {"IDP_RATELIMIT_STORAGE": redis_url, "IDP_RATELIMIT_LOGIN_ACCOUNT": "1/minute"}
    apps = [make_app(**settings), make_app(**settings)]
    for application in apps:
        application.add_url_rule("/_test/limited", "test_limited",
                                 lambda: ratelimit.hit("login", account=TARO) or "ok")
    assert apps[0].test_client().get("/_test/limited").status_code == 200
    response = apps[1].test_client().get("/_test/limited")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1


# --- Redis down: logins go on, limits per process, then Redis again ---------------------------------

RECHECK = 0.3  # seconds between tries of the storage while it is down (RECHECK_SECONDS, shortened)


@pytest.fixture
def stoppable_redis(monkeypatch):
    """A Redis server of this test alone: `stop(keep_files=True)`, then `restart()` on the same port."""
    server = RedisServer(require_redis_server())
    server.start()
    port = server.port

    def restart():
        monkeypatch.setattr(redis_support, "_free_port", lambda: port)
        server.start()
    server.restart = restart
    monkeypatch.setattr(ratelimit_module, "RECHECK_SECONDS", RECHECK)
    yield server
    server.stop()


def fallback_counts():
    """(outages, checks counted in memory) so far in this process, from the metrics' text."""
    body, _type = metrics.exposition()
    found = {sample.name: sample.value for family in text_string_to_metric_families(body.decode())
             for sample in family.samples}
    return (found.get("idp_ratelimit_storage_outages_total", 0.0),
            found.get("idp_ratelimit_fallback_checks_total", 0.0))


def test_redis_stopped_limits_per_process_then_redis_again(make_app, stoppable_redis, caplog):
    settings = {"IDP_RATELIMIT_STORAGE": stoppable_redis.url, "IDP_RATELIMIT_LOGIN_ACCOUNT": "2/minute"}
    first, second = make_app(**settings), make_app(**settings)
    outages, checks = fallback_counts()
    with first.app_context():
        ratelimit.hit("login", account=TARO)  # counted in Redis
        stoppable_redis.stop(keep_files=True)
        passed, refused = hits_until_refused("login", 5, account=TARO)
        assert passed == 2 and refused.scope == "account"  # a fresh count in memory, the same limit
        assert ratelimit.is_limited("login", account=TARO)
    assert caplog.text.count("rate-limit storage unreachable") == 1  # once per outage, not per request
    assert fallback_counts()[0] == outages + 1 and fallback_counts()[1] >= checks + 4
    stoppable_redis.restart()
    time.sleep(RECHECK + 0.1)
    with first.app_context():
        ratelimit.hit("login", account=TARO)  # Redis again (fresh): memory would refuse Taro
    assert "reachable again" in caplog.text
    with second.app_context():  # the other instance shares the count again
        ratelimit.hit("login", account=TARO)
        with pytest.raises(RateLimited):
            ratelimit.hit("login", account=TARO)


@pytest.fixture
def redis_limits(config_overrides, stoppable_redis):
    config_overrides.update(IDP_RATELIMIT_STORAGE=stoppable_redis.url, IDP_RATELIMIT_LOGIN_IP="100/minute",
                            IDP_RATELIMIT_LOGIN_ACCOUNT="3/minute")
    return stoppable_redis


def test_logins_keep_working_while_redis_is_down(redis_limits, factory, client, login):
    factory.tenant("acme")
    factory.account("acme")
    assert login().status_code == 302  # Redis: 1 of 3
    client.get("/logout")
    redis_limits.stop(keep_files=True)
    assert login().status_code == 302  # memory: 1 of 3
    client.get("/logout")
    assert login(password="wrong-password-1").status_code == 200
    assert login(password="wrong-password-1").status_code == 200
    refused = login()
    assert refused.status_code == 429 and "Retry-After" in refused.headers  # the limit holds per process
    redis_limits.restart()
    time.sleep(RECHECK + 0.1)
    assert login().status_code == 302  # counted in Redis again, where Taro has no attempts yet


def test_missing_redis_server_skips_or_fails_when_required(monkeypatch):
    import tests.support.redis as support
    monkeypatch.setattr(support, "find_redis_server", lambda: None)
    monkeypatch.delenv("IDP_TEST_REQUIRE_REDIS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        support.require_redis_server()
    monkeypatch.setenv("IDP_TEST_REQUIRE_REDIS", "1")
    with pytest.raises(pytest.fail.Exception, match="IDP_TEST_REQUIRE_REDIS=1"):
        support.require_redis_server()
