"""SAML fixtures: a tenant with a user, registered SPs, and an independent SP stack (python3-saml/OneLogin,
which verifies and decrypts with xmlsec) that talks to the IdP over HTTP only.

The SP libraries check times against the real clock, so these tests freeze our clock at the real now."""
import base64
import html
import re
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from conftest import csrf_token_from
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.platform.clock import FrozenClock, utcnow
from idp.platform.extensions import db
from idp.saml import registry as saml_registry
from idp.tenancy import tenants

BASE = "http://127.0.0.1:8000"
SP_ENTITY = "https://sp.example.com/metadata"
ACS_URL = "https://sp.example.com/acs"
SLO_URL = "https://sp.example.com/slo"
SP2_ENTITY = "https://sp2.example.com/metadata"


@pytest.fixture
def clock():
    return FrozenClock(utcnow())


def make_key_pair(common_name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return SimpleNamespace(key=key_pem, cert=cert.public_bytes(serialization.Encoding.PEM).decode())


@pytest.fixture(scope="session")
def sp_keys():
    return make_key_pair("sp.example.com")


@pytest.fixture(scope="session")
def sp2_keys():
    return make_key_pair("sp2.example.com")


@pytest.fixture
def acme(factory):
    factory.tenant("acme")
    factory.account("acme")
    return "acme"


@pytest.fixture
def register(app, clock, sp_keys, acme):
    """register(slug="acme", **options) -> SimpleNamespace(app_id, entity_id, sp_id)."""
    def _register(slug="acme", *, group_names=None, entity_id=SP_ENTITY, acs_urls=(ACS_URL,), **options):
        options.setdefault("signing_cert", sp_keys.cert)
        options.setdefault("slo_url", SLO_URL)
        with app.app_context():
            tenant = tenants.get_by_slug(slug)
            chosen = ([groups.get_by_name(tenant, n) for n in group_names] if group_names is not None
                      else [groups.default_group(tenant)])
            created = saml_registry.register(
                tenant, saml_registry.SpSettings(
                    name=options.pop("name", "経費精算"), entity_id=entity_id, acs_urls=acs_urls, **options),
                now=clock.now(), actor=OPERATOR, groups=chosen)
            db.session.commit()
            return SimpleNamespace(**created.as_json(), sp_id=created.sp.id, launch_url=created.app.launch_url)
    return _register


def posted_form(response):
    """(action, {field: value}) of the auto-submitting SAML form."""
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:500]
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', body).group(1))
    fields = {html.unescape(n): html.unescape(v)
              for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)}
    return action, fields


class OneLoginSp:
    """A python3-saml SP: builds (signed) AuthnRequests, validates responses like a real SP would."""

    def __init__(self, http, keys, *, entity_id=SP_ENTITY, acs=ACS_URL, slo=SLO_URL, slug="acme", **security):
        self.http, self.slug = http, slug
        metadata = http.get(f"/t/{slug}/saml/metadata").get_data(as_text=True)
        idp_settings = OneLogin_Saml2_IdPMetadataParser.parse(metadata)  # Redirect SSO and SLO bindings
        self.settings = {
            "strict": True, "debug": False,
            "sp": {"entityId": entity_id, "x509cert": keys.cert, "privateKey": keys.key,
                   "assertionConsumerService": {"url": acs,
                                                "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"},
                   "singleLogoutService": {"url": slo,
                                           "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
                   "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
            "idp": idp_settings["idp"],
            "security": {"authnRequestsSigned": True, "logoutRequestSigned": True, "logoutResponseSigned": True,
                         "wantMessagesSigned": True, "wantAssertionsSigned": True, "wantNameId": True,
                         "requestedAuthnContext": False, "rejectDeprecatedAlgorithm": True,  # no SHA-1
                         "signatureAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                         "digestAlgorithm": "http://www.w3.org/2001/04/xmlenc#sha256", **security},
        }
        self.acs_host = urlsplit(acs).hostname
        self.acs_path = urlsplit(acs).path
        self.request_id = None

    def _auth(self, path, get=None, post=None):
        return OneLogin_Saml2_Auth({"https": "on", "http_host": self.acs_host, "script_name": path,
                                    "get_data": get or {}, "post_data": post or {}}, self.settings)

    def login_url(self, **options):
        auth = self._auth(self.acs_path)
        url = auth.login(return_to=options.pop("relay_state", "https://sp.example.com/home"), **options)
        self.request_id = auth.get_last_request_id()
        parts = urlsplit(url)
        assert url.startswith(BASE), url
        return f"{parts.path}?{parts.query}"

    def accept(self, response, request_id="default"):
        """Validate the posted Response as the SP's ACS would; returns the OneLogin auth (errors asserted empty)."""
        action, fields = posted_form(response)
        assert action == ACS_URL or urlsplit(action).hostname == self.acs_host
        auth = self._auth(urlsplit(action).path, post=fields)
        auth.process_response(request_id=self.request_id if request_id == "default" else request_id)
        assert auth.get_errors() == [], auth.get_last_error_reason()
        assert auth.is_authenticated()
        return auth


@pytest.fixture
def onelogin_sp(client, acme, sp_keys):
    return lambda **security: OneLoginSp(client, sp_keys, **security)


def login_through(client, login, first, email="taro@acme.example.com"):
    """The IdP sent the browser to /login: log in and follow `next` back to the SAML resume."""
    assert first.status_code == 302 and "/login?" in first.headers["Location"], first.get_data(as_text=True)[:400]
    next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    posted = login(email=email, next_url=next_url)
    assert posted.status_code == 302, posted.get_data(as_text=True)[:300]
    return client.get(posted.headers["Location"])


def csrf_token_of(page):
    return csrf_token_from(page.get_data(as_text=True))


def decode_response(fields):
    return base64.b64decode(fields["SAMLResponse"])
