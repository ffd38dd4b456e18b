"""A virtual platform authenticator in Chromium, through the Chrome DevTools Protocol's WebAuthn domain.

    from tests.support.webauthn import virtual_authenticator  # noqa: F401  (the fixture)

    def test_x(browser_page, virtual_authenticator): ...

The authenticator answers `navigator.credentials.create/get` of the page's browser context at once, as a
phone's or laptop's built-in one with the user verified (CTAP2, transport `internal`, resident keys, user
verification): no dialog. `credentials()` reads what it holds (`WebAuthn.getCredentials`), so a test can
see the sign counter rise. Chromium refuses an IP address as RP ID, so pages that use it must be served
under a host name (`localhost`): see `localhost_live_server`.
"""
import base64
import os
import socket
import threading
from types import SimpleNamespace

import pytest

AUTHENTICATOR_OPTIONS = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
                         "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}


def cdp_id_to_b64url(value):
    """The protocol's credential ids are standard base64 with padding; WebAuthn JSON uses base64url."""
    return base64.urlsafe_b64encode(base64.b64decode(value)).rstrip(b"=").decode()


class VirtualAuthenticator:
    def __init__(self, page):
        self.page = page
        self.session = page.context.new_cdp_session(page)
        self.authenticator_id = None

    def __enter__(self):
        self.session.send("WebAuthn.enable", {"enableUI": False})
        self.authenticator_id = self.session.send(
            "WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR_OPTIONS})["authenticatorId"]
        return self

    def __exit__(self, *exc_info):
        self.session.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.authenticator_id})
        self.session.send("WebAuthn.disable")
        self.session.detach()

    def credentials(self):
        """What the authenticator holds: dicts with `credentialId` (base64url here), `rpId`, `userHandle`,
        `signCount`, `isResidentCredential` (private keys left out)."""
        found = self.session.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id})
        return [{**{k: v for k, v in c.items() if k != "privateKey"},
                 "credentialId": cdp_id_to_b64url(c["credentialId"])} for c in found["credentials"]]

    def sign_count(self, credential_id):
        """The sign counter of one credential (id in base64url, as the server stores and sends it)."""
        return next(c["signCount"] for c in self.credentials() if c["credentialId"] == credential_id)

    def clear(self):
        """Forget every credential (a lost phone): the next `get` finds none."""
        self.session.send("WebAuthn.clearCredentials", {"authenticatorId": self.authenticator_id})


@pytest.fixture
def virtual_authenticator(browser_page):
    with VirtualAuthenticator(browser_page) as authenticator:
        yield authenticator


@pytest.fixture
def localhost_live_server(tmp_path, clock):
    """conftest's `live_server`, but its base URL (so the RP ID and origin) names `localhost`, not
    127.0.0.1: Chromium refuses an IP address as RP ID ("This is an invalid domain")."""
    from werkzeug.serving import make_server

    from conftest import Outbox
    from idp import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://localhost:{port}"
    application = create_app({
        "IDP_INSTANCE_DIR": str(tmp_path / "live"), "IDP_SECRET_KEY": "live-secret",
        "IDP_BASE_URL": base_url, "IDP_CLOCK": clock, "IDP_HELP_URL": "https://help.example.com/",
    })
    server = make_server("127.0.0.1", port, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=base_url, app=application, outbox=Outbox(
        os.path.join(application.config["IDP_INSTANCE_DIR"], "outbox")))
    server.shutdown()
    thread.join(5)
