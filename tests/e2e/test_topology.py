"""Two instances behind nginx on PostgreSQL and Redis, deployed as docs/deploy.md says (the shipped
deploy/nginx/matome-idp.conf, deploy/systemd/matome-idp@.service and deploy/env.example, with ports and a
self-signed certificate substituted: tests/support/topology.py), driven through nginx over TLS.

One topology for the module, and one test that runs the steps in order (the later ones stop servers):
an SSO session opened on one instance is valid on the other; five wrong passwords spread over both lock
the account; the login rate limit counts across both per real client address (nginx's X-Forwarded-For,
the client's own header ignored); an admin's unlock on one is seen by the other at the next request;
rotated keys are published and used by both; PostgreSQL restarted → quick 503s, then recovery without a
restart; an instance killed → the other serves and the session lives on; Redis stopped → logins work;
mail queued while the SMTP server is down goes out once it is back, each message once, although two
deliveries run at the same time.
Skipped only when nginx is missing and IDP_TEST_REQUIRE_NGINX is unset (CI sets it).
"""
import json
import os
import re
import subprocess
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from tests.support.postgres import find_bindir
from tests.support.redis import require_redis_server
from tests.support.topology import IDP, Browser, Topology, find_nginx, free_port, seed
from tests.support.topology_flows import admin_search, kid_of, oidc_sign_in, refresh, saml_sign_in

PASSWORD = "Sakura-Blossom-2026"
LOCKED = "ログインに連続で失敗したため、このアカウントはロックされています。"
LOGIN_IP_LIMIT = 6  # per minute: small enough to reach in a test


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    if find_nginx() is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if os.environ.get("IDP_TEST_REQUIRE_NGINX") == "1":
            pytest.fail(message + " and IDP_TEST_REQUIRE_NGINX=1")
        pytest.skip(message)
    require_redis_server()
    if find_bindir() is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    smtp_port = free_port()  # nothing listens there until the mail step starts a server
    running = Topology(str(tmp_path_factory.mktemp("topology")), pin=True,
                       env={"IDP_RATELIMIT_LOGIN_IP": f"{LOGIN_IP_LIMIT}/minute",
                            "IDP_MAIL_TRANSPORT": f"smtp://127.0.0.1:{smtp_port}"})
    running.smtp_port = smtp_port
    try:
        running.start()
        running.seeded = seed(running.app(), users=4, password=PASSWORD)
        yield running
    finally:
        running.stop()


def signed_in(browser, instance, name):
    """The portal of `browser` on `instance` shows the user signed in."""
    page = browser.get("/", instance=instance)
    return page.status_code == 200 and name in page.text


def test_two_instances_behind_nginx(topology):
    seeded = topology.seeded
    alice = Browser(topology, source="127.0.0.2")
    sso_across_instances(alice, seeded)
    lockout_and_unlock_across_instances(topology)
    rate_limit_per_client_address_across_instances(topology)
    key_rotation_seen_by_both(topology, alice)
    postgres_restart_answers_503_then_recovers(topology, alice)
    killed_instance_leaves_the_other_serving(topology, alice)
    logins_work_while_redis_is_down(topology)
    mail_waits_for_the_smtp_server_and_goes_out_once(topology)


def sso_across_instances(alice, seeded):
    assert alice.login("user0@acme.example.com", PASSWORD, instance=0).status_code == 302
    assert signed_in(alice, 1, "利用者 0")  # the session opened on instance 0, read by instance 1
    tokens = oidc_sign_in(alice, seeded, instance=1)  # SSO: no login page on the way
    assert {"id_token", "access_token", "refresh_token"} <= set(tokens)
    assert "refresh_token" in refresh(alice, seeded, tokens["refresh_token"], instance=0)
    assert b"user0@acme.example.com" in saml_sign_in(alice, seeded, instance=0)


def lockout_and_unlock_across_instances(topology):
    mallory = Browser(topology, source="127.0.0.3")
    for attempt in range(5):  # on instances 0, 1, 0, 1, 0: the fifth failure locks
        response = mallory.login("user1@acme.example.com", "wrong-password-1", instance=attempt % 2)
        assert response.status_code == 200 and (LOCKED in response.text) == (attempt == 4), attempt
    locked = mallory.login("user1@acme.example.com", PASSWORD, instance=1)
    assert locked.status_code == 200 and LOCKED in locked.text  # the right password no longer opens it

    admin = Browser(topology, source="127.0.0.4")
    assert admin.login("admin@acme.example.com", PASSWORD, instance=1).status_code == 302
    found = admin_search(admin, {"lock": "locked"}, instance=1)  # the lock, made on both, is in the database
    assert "user1@acme.example.com" in found and "user0@acme.example.com" not in found
    account_id = re.search(r'/admin/accounts/(\d+)"', found).group(1)
    detail = admin.get(f"/admin/accounts/{account_id}", instance=1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', detail.text).group(1)
    unlocked = admin.post(f"/admin/accounts/{account_id}/unlock", data={"csrf_token": token}, instance=1)
    assert unlocked.status_code == 302
    user = Browser(topology, source="127.0.0.5")  # the next request, on the other instance
    assert user.login("user1@acme.example.com", PASSWORD, instance=0).status_code == 302


def rate_limit_per_client_address_across_instances(topology):
    crowd = Browser(topology, source="127.0.0.6")
    for attempt in range(LOGIN_IP_LIMIT):  # unknown addresses: only the per-IP limit can refuse them
        response = crowd.login(f"nobody{attempt}@acme.example.com", "wrong-password-1", instance=attempt % 2)
        assert response.status_code == 200, attempt
    for instance in (0, 1):
        refused = crowd.login("nobody@acme.example.com", "wrong-password-1", instance=instance)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    spoofed = crowd.login("nobody@acme.example.com", "wrong-password-1",
                          headers={"X-Forwarded-For": "198.51.100.7"})  # the client's own header is dropped
    assert spoofed.status_code == 429
    neighbour = Browser(topology, source="127.0.0.7")  # another client address has its own budget
    assert neighbour.login("user2@acme.example.com", PASSWORD).status_code == 302


def key_rotation_seen_by_both(topology, alice):
    rotated = topology.idp("keys", "rotate", "--tenant", "acme", "--prepublish-seconds", "0", "--json")
    assert rotated.returncode == 0, rotated.stderr
    new_kids = {key["kid"] for key in json.loads(rotated.stdout)["keys"]}
    for instance in (0, 1):
        published = {key["kid"] for key in alice.get("/t/acme/oidc/jwks", instance=instance).json()["keys"]}
        assert new_kids <= published, instance
        id_token = oidc_sign_in(alice, topology.seeded, instance=instance)["id_token"]
        assert kid_of(id_token) in new_kids, instance  # signed with the new key from now on


def postgres_restart_answers_503_then_recovers(topology, alice):
    def while_down():
        for instance in (0, 1):
            started = time.monotonic()
            page = alice.get("/", instance=instance)
            assert page.status_code == 503 and time.monotonic() - started < 3, (instance, page.status_code)
            assert "ただいまサービスを利用できません。" in page.text and page.headers["Retry-After"]
        tokens = alice.post("/t/acme/oidc/token", data={"grant_type": "client_credentials"},
                            auth=(topology.seeded["client_id"], topology.seeded["client_secret"]))
        assert tokens.status_code == 503 and tokens.json()["error"] == "temporarily_unavailable"
    topology.restart_postgres(while_down)
    deadline = time.monotonic() + 15
    while not all(signed_in(alice, instance, "利用者 0") for instance in (0, 1)):
        assert time.monotonic() < deadline, "the instances did not recover after PostgreSQL came back"
        time.sleep(0.2)


def killed_instance_leaves_the_other_serving(topology, alice):
    topology.instances[0].kill()
    for _ in range(6):  # nginx's round robin tries the dead one, fails over, then leaves it out
        assert signed_in(alice, None, "利用者 0")
    newcomer = Browser(topology, source="127.0.0.8")
    assert newcomer.login("user3@acme.example.com", PASSWORD).status_code == 302
    assert signed_in(newcomer, None, "利用者 3")
    topology.instances[0].start()  # back for the next step (systemd's Restart=on-failure)
    topology.wait_ready(0)


def logins_work_while_redis_is_down(topology):
    topology.redis.stop()
    for instance in (0, 1):
        visitor = Browser(topology, source=f"127.0.1.{instance + 1}")
        started = time.monotonic()
        assert visitor.login("user2@acme.example.com", PASSWORD, instance=instance).status_code == 302
        assert time.monotonic() - started < 5
        assert signed_in(visitor, instance, "利用者 2")
    assert not topology.instances[1].ready()  # /readyz says so (503): Redis is configured and down


class Received:
    """aiosmtpd handler: every envelope accepted, (recipients, data) kept."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((tuple(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def request_reset(topology, email, instance):
    browser = Browser(topology, source="127.0.2.1")
    page = browser.get("/password/forgot", instance=instance)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert browser.post("/password/forgot", data={"csrf_token": token, "email": email},
                        instance=instance).status_code == 200


def mail_waits_for_the_smtp_server_and_goes_out_once(topology):
    request_reset(topology, "user0@acme.example.com", 0)
    request_reset(topology, "user3@acme.example.com", 1)
    queue = json.loads(topology.idp("mail", "queue", "--json").stdout)
    waiting = queue["counts"]["pending"] + queue["counts"]["sending"]
    assert waiting >= 3 and queue["counts"]["sent"] == 0  # the two resets and the seeding's mails
    received = Received()
    smtp = Controller(received, hostname="127.0.0.1", port=topology.smtp_port)
    smtp.start()
    try:
        engine = create_engine(topology.env["IDP_DATABASE_URL"])
        with engine.begin() as connection:  # the retry is due now (the first one waits 30 s)
            connection.execute(text("UPDATE outbox_messages SET next_attempt_at = now() AT TIME ZONE 'UTC' "
                                    "WHERE status = 'pending'"))
        engine.dispose()
        sweeps = [subprocess.Popen([IDP, "mail", "deliver", "--json"], env=topology.env, stdout=subprocess.PIPE,
                                   text=True) for _ in range(2)]  # two deliveries at once, as two instances
        sent = [json.loads(sweep.communicate(timeout=60)[0])["sent"] for sweep in sweeps]
        deadline = time.monotonic() + 10  # an instance's own sweep may have claimed some: let it finish
        while len(received.messages) < waiting and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        smtp.stop()
    recipients = sorted(rcpt for rcpts, _ in received.messages for rcpt in rcpts)
    assert len(received.messages) == waiting and 0 < sum(sent) <= waiting  # each claimed and sent once
    assert recipients.count("user0@acme.example.com") == 1 and recipients.count("user3@acme.example.com") == 1
    counts = json.loads(topology.idp("mail", "queue", "--json").stdout)["counts"]
    assert counts["sent"] == waiting and counts["pending"] == counts["sending"] == 0
