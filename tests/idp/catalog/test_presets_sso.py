"""Every preset of the catalog signs a user in: registered with its inputs' `example` values, then a full
SP-initiated SSO (and, for SAML, IdP-initiated through the portal's launch URL) against an independent stack
configured exactly as the preset says the vendor's side is: python3-saml (strict) with the preset's entity ID,
ACS URL, NameID format and signing; Authlib's OAuth 2.0 client (ID token verified with joserfc) with the
preset's redirect URI. Parametrized over the files of idp/catalog/presets/, so a new preset is covered
without editing this test; tests/idp/catalog/fixtures/ adds test-only presets for paths no shipped preset
takes yet. A failure names the preset and what differed. In-process (Flask test client), no network."""
import re
import secrets
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from requests.structures import CaseInsensitiveDict

from idp.catalog import presets
from idp.catalog.schema import parse_preset, render
from idp.models import Account
from idp.platform.clock import FrozenClock, utcnow
from idp.platform.extensions import db
from idp.saml.sso import NAMEID_URNS, PRESETS as ATTRIBUTE_NAMES
from tests.idp.catalog.conftest import ACCOUNT
from tests.protocols.saml.conftest import login_through, posted_form

pytestmark = pytest.mark.sqlite_only  # no storage-specific behaviour here: SQLite alone (conftest.py)

BASE = "http://127.0.0.1:8000"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TAGS = re.compile(r"<[^>]+>|\s+")
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
FILES = [pytest.param(path, id=path.stem) for path in sorted(presets.PRESETS_DIR.glob("*.toml"))]
FIXTURE_FILES = [pytest.param(path, id=f"fixture-{path.stem}") for path in sorted(FIXTURES.glob("*.toml"))]


@pytest.fixture
def clock():
    return FrozenClock(utcnow())  # the SP and RP libraries check times against the real clock


def _preset(path, monkeypatch):
    """The file's checked preset; a test-only one is added to the catalog for this test."""
    preset = parse_preset(tomllib.loads(path.read_text(encoding="utf-8")), path.name)
    if path.parent == FIXTURES:
        monkeypatch.setattr(presets, "_loaded", {**presets.all_presets(), preset.id: preset})
    return preset


@pytest.mark.parametrize("path", FILES)
def test_preset_file_passes_the_schema(path):
    parse_preset(tomllib.loads(path.read_text(encoding="utf-8")), path.name)  # CatalogError names file and field


@pytest.mark.parametrize("path", FILES + FIXTURE_FILES)
def test_preset_signs_a_user_in(path, app, client, login, add_preset, monkeypatch):
    preset = _preset(path, monkeypatch)
    inputs = {item.key: item.example for item in preset.inputs}
    created = add_preset(preset.id, inputs)
    assert created.preset == preset.id, f"preset {preset.id}: the app does not remember its preset"
    expected_launch = render(preset.launch_url, inputs) if preset.launch_url else None
    if expected_launch:
        assert created.launch_url == expected_launch, f"preset {preset.id}: portal tile links to {created.launch_url}"
    if preset.protocol == "saml":
        _saml_sso(app, client, login, preset, inputs, created)
    else:
        _oidc_sso(app, client, login, preset, inputs, created)


# --- SAML: python3-saml as the vendor's SP -------------------------------------------------------------------

def _went_to_login(preset, first, what):
    location = first.headers.get("Location", "")
    text = TAGS.sub(" ", first.get_data(as_text=True))[-300:]
    assert first.status_code == 302 and "/login?" in location, \
        f"preset {preset.id}: the IdP answered the {what} with {first.status_code} {location[:120]}: {text}"


def _sp_settings(client, preset, inputs):
    saml = preset.saml
    idp = OneLogin_Saml2_IdPMetadataParser.parse(client.get("/t/acme/saml/metadata").get_data(as_text=True))["idp"]
    return {"strict": True, "debug": False, "idp": idp,
            "sp": {"entityId": render(saml.entity_id, inputs),
                   "assertionConsumerService": {"url": render(saml.acs_urls[0], inputs), "binding": POST_BINDING},
                   "NameIDFormat": NAMEID_URNS[saml.nameid_format]},
            "security": {"authnRequestsSigned": False, "wantNameId": True, "requestedAuthnContext": False,
                         "wantMessagesSigned": saml.sign in ("response", "both"),
                         "wantAssertionsSigned": saml.sign in ("assertion", "both"),
                         "rejectDeprecatedAlgorithm": True}}


def _onelogin(settings, url, post=None):
    parts = urlsplit(url)
    return OneLogin_Saml2_Auth({"https": "on", "http_host": parts.netloc, "script_name": parts.path,
                                "query_string": parts.query, "get_data": {}, "post_data": post or {}}, settings)


def _accepted(preset, settings, answer, request_id, how):
    """The SP's ACS: the form posts to the preset's ACS URL and python3-saml accepts the Response strictly."""
    action, fields = posted_form(answer)
    acs = settings["sp"]["assertionConsumerService"]["url"]
    assert action == acs, f"preset {preset.id} ({how}): the response is posted to {action}, the SP expects {acs}"
    auth = _onelogin(settings, acs, post=fields)
    auth.process_response(request_id=request_id)
    assert auth.get_errors() == [], f"preset {preset.id} ({how}): the SP refused the response: " \
                                    f"{auth.get_last_error_reason()}"
    assert auth.is_authenticated(), f"preset {preset.id} ({how}): not authenticated"
    return auth, fields


def _expected_attributes(app, preset):
    with app.app_context():
        account = db.session.query(Account).filter_by(email=ACCOUNT["email"]).one()
        values = {"email": [account.email], "name": [account.name], "groups": [account.group.name],
                  "subject": [account.subject], "department": [account.department],
                  "organization": [account.organization], "phone": [account.phone]}
        names = {**ATTRIBUTE_NAMES[preset.saml.attribute_preset], **preset.saml.attribute_map}
        return {name: values[key] for key, name in names.items()}, account.subject


def _check_subject(preset, auth, subject, how):
    saml = preset.saml
    got_format, want_format = auth.get_nameid_format(), NAMEID_URNS[saml.nameid_format]
    assert got_format == want_format, f"preset {preset.id} ({how}): NameID format {got_format}, expected {want_format}"
    name_id = auth.get_nameid()
    expected = {"email": ACCOUNT["email"], "unspecified": subject}.get(saml.nameid_format)
    if expected is not None:
        assert name_id == expected, f"preset {preset.id} ({how}): NameID {name_id!r}, expected {expected!r}"
    else:  # persistent: opaque, neither the address nor our subject
        assert name_id and name_id not in (ACCOUNT["email"], subject), \
            f"preset {preset.id} ({how}): persistent NameID {name_id!r} is not opaque"
    return name_id


def _saml_sso(app, client, login, preset, inputs, created):
    settings = _sp_settings(client, preset, inputs)
    expected, subject = _expected_attributes(app, preset)
    start = _onelogin(settings, settings["sp"]["assertionConsumerService"]["url"])
    url = start.login(return_to="https://sp.example.test/after-login")
    assert url.startswith(BASE + "/t/acme/saml/sso?"), url
    first = client.get(url.removeprefix(BASE))
    _went_to_login(preset, first, "SP-initiated AuthnRequest")
    auth, _fields = _accepted(preset, settings, login_through(client, login, first), start.get_last_request_id(),
                              "SP-initiated")
    name_id = _check_subject(preset, auth, subject, "SP-initiated")
    got = auth.get_attributes()
    assert got == expected, \
        f"preset {preset.id} (SP-initiated): attributes {sorted(got)}, expected {sorted(expected)} " \
        f"({got} vs {expected})"

    launched = client.get(f"/t/acme/saml/launch/{created.sp_id}")  # the portal tile of IdP-initiated SSO
    auth, fields = _accepted(preset, settings, launched, None, "IdP-initiated")
    assert _check_subject(preset, auth, subject, "IdP-initiated") == name_id, \
        f"preset {preset.id}: the IdP-initiated NameID differs from the SP-initiated one"
    assert auth.get_attributes() == expected, f"preset {preset.id} (IdP-initiated): attributes differ"
    relay_state = render(preset.saml.relay_state, inputs)
    assert fields.get("RelayState", "") == relay_state, \
        f"preset {preset.id} (IdP-initiated): RelayState {fields.get('RelayState')!r}, expected {relay_state!r}"


# --- OIDC: Authlib's client as the vendor's RP ---------------------------------------------------------------

class FlaskTransport(requests.adapters.BaseAdapter):
    """Authlib's requests session speaks to the app in-process (Flask's test client), not over a network."""

    def __init__(self, client):
        super().__init__()
        self.client = client

    def send(self, request, **_options):
        parts = urlsplit(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = self.client.open(parts.path + (f"?{parts.query}" if parts.query else ""), method=request.method,
                                  headers=headers, data=request.body)
        response = requests.Response()
        response.status_code, response.url, response.request = answer.status_code, request.url, request
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content, response.encoding = answer.get_data(), "utf-8"
        return response

    def close(self):
        pass


def _oidc_sso(app, client, login, preset, inputs, created):
    redirect_uri = render(preset.oidc.redirect_uris[0], inputs)
    rp = OAuth2Session(created.client_id, created.client_secret, scope="openid profile email",
                       redirect_uri=redirect_uri, code_challenge_method="S256",
                       token_endpoint_auth_method="none" if preset.oidc.public else "client_secret_basic")
    rp.mount(BASE + "/", FlaskTransport(client))
    issuer = f"{BASE}/t/acme"
    provider = rp.get(f"{issuer}/.well-known/openid-configuration", withhold_token=True).json()
    assert provider["issuer"] == issuer, f"preset {preset.id}: discovery names issuer {provider['issuer']}"
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = rp.create_authorization_url(provider["authorization_endpoint"], nonce=nonce, code_verifier=verifier)
    first = client.get(url.removeprefix(BASE))
    _went_to_login(preset, first, "authorization request")
    callback = login_through(client, login, first)
    location = callback.headers.get("Location", "")
    assert callback.status_code == 302 and location.startswith(redirect_uri + "?"), \
        f"preset {preset.id}: authorization answered {callback.status_code} {location[:200]}, expected {redirect_uri}"
    assert parse_qs(urlsplit(location).query)["iss"] == [issuer], f"preset {preset.id}: wrong iss in the redirect"
    token = rp.fetch_token(provider["token_endpoint"], authorization_response=location, state=state,
                           code_verifier=verifier)
    keys = KeySet.import_key_set(rp.get(provider["jwks_uri"], withhold_token=True).json())
    id_token = jwt.decode(token["id_token"], keys)
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}, aud={"essential": True, "value": created.client_id},
                          nonce={"essential": True, "value": nonce}, exp={"essential": True},
                          sub={"essential": True}).validate(id_token.claims)
    email = id_token.claims.get("email")
    assert email == ACCOUNT["email"], f"preset {preset.id}: the ID token's email is {email!r}"


def test_a_vendor_side_that_differs_fails_naming_the_preset_and_the_difference(
        app, client, login, add_preset, monkeypatch):
    """The harness is not vacuous: an SP expecting other attribute names, or an ACS URL we do not know, fails,
    and the message names the preset and the difference."""
    preset = _preset(presets.PRESETS_DIR / "slack.toml", monkeypatch)
    inputs = {item.key: item.example for item in preset.inputs}
    created = add_preset(preset.id, inputs)
    other_names = preset.model_copy(update={"saml": preset.saml.model_copy(update={"attribute_map": {
        "email": "User.Mail"}})})
    with pytest.raises(AssertionError, match=r"preset slack \(SP-initiated\): attributes \['User.Email', "):
        _saml_sso(app, client, login, other_names, inputs, created)
    other_acs = preset.model_copy(update={"saml": preset.saml.model_copy(update={"acs_urls": [
        "https://{domain}.slack.com/elsewhere"]})})
    with pytest.raises(AssertionError, match=r"preset slack: the IdP answered the SP-initiated AuthnRequest with 400"):
        _saml_sso(app, client, login, other_acs, inputs, created)
