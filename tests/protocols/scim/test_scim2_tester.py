"""scim2-tester (an independent SCIM test suite) against the app served over real HTTP on loopback.

Every check of what our ServiceProviderConfig advertises must pass. The tester fills resources with
random values of the published schemas' types; three of ours carry a format a type cannot say, so the
filler is given valid values for them (the server refuses anything else with 400 invalidValue, which
tests/protocols/scim/test_users.py checks): userName is an e-mail address (the login ID), phone numbers
are Japanese numbers, validFrom/validTo are dates. sendActivationMail is left out: it is write-only and
never returned (RFC 7643 §7), but the tester compares a whole extension value, write-only parts included,
with what comes back (the mail itself is tested in test_users.py).
"""
import http.client
import itertools
import random
from wsgiref.headers import Headers

import pytest
import scim2_tester.checkers.patch_add
import scim2_tester.checkers.patch_replace
import scim2_tester.filling
from scim2_client.engines.inprocess import InProcessResponse, _prepare_request
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

from idp.platform.extensions import db
from tests.protocols.scim.conftest import make_token

FAILED = (Status.ERROR, Status.CRITICAL)
_serial = itertools.count()


class LiveSCIMClient(WSGISCIMClient):
    """scim2-client over real HTTP (http.client) to the live server."""

    def request(self, method, url, **kwargs):
        prepared = _prepare_request(self.base_url, self.headers, method, url, **kwargs)
        target = prepared.url
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            connection.request(prepared.method, path, body=prepared.body or None,
                               headers=dict(prepared.headers))
            response = connection.getresponse()
            return InProcessResponse(status_code=response.status, headers=Headers(response.getheaders()),
                                     content=response.read())
        finally:
            connection.close()


def _valid_value(path):
    text = str(path)
    if text.endswith("userName"):
        return f"tester{next(_serial)}-{random.randrange(10**9)}@acme.example.com"
    if text.endswith("phoneNumbers.value"):
        return f"090{random.randrange(10**8):08d}"
    if text.endswith(":validFrom"):
        return "2026-01-01"
    if text.endswith(":validTo"):
        return "2030-12-31"
    return None


def _generator(original, *, whole_values):
    def generate(context, path, mutability=None, required=None):
        value = original(context, path, mutability=mutability, required=required)
        if value is None:
            return None
        if whole_values and str(path).endswith("sendActivationMail"):
            return None
        if str(path).endswith("phoneNumbers"):  # whole entries, filled with random digits
            for entry in value:
                entry.value = _valid_value("phoneNumbers.value")
            return value
        replacement = _valid_value(path)
        if replacement is None:
            return value
        return [replacement] if isinstance(value, list) else replacement
    return generate


@pytest.fixture
def valid_random_values(monkeypatch):
    """Valid values for our formats; sendActivationMail only where the tester writes that one attribute."""
    original = scim2_tester.filling.generate_random_value
    monkeypatch.setattr(scim2_tester.filling, "generate_random_value", _generator(original, whole_values=True))
    for module in (scim2_tester.checkers.patch_add, scim2_tester.checkers.patch_replace):
        monkeypatch.setattr(module, "generate_random_value", _generator(original, whole_values=False))


def test_scim2_tester_passes_every_check_of_what_we_advertise(live_server, clock, valid_random_values):
    from idp.logs.audit import OPERATOR
    from idp.tenancy import tenants
    with live_server.app.app_context():
        tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                              admin_email="admin@acme.example.com", admin_password=None, now=clock.now(),
                              actor=OPERATOR)
        db.session.commit()
    token = make_token(live_server.app, clock)
    client = LiveSCIMClient(live_server.app, base_url=f"{live_server.url}/t/acme/scim/v2",
                            headers={"Authorization": f"Bearer {token}"})
    results = check_server(client)
    failed = [f"{r.resource_type or ''} {r.title}: {r.reason}" for r in results if r.status in FAILED]
    assert not failed, "\n".join(failed)
    passed = {r.title for r in results if r.status == Status.SUCCESS}
    assert {"object_creation", "object_query", "object_replacement", "object_deletion"} <= passed, passed
