"""What apps and users do against the topology (tests/support/topology.py), for the topology test and
bench/soak.py: an OIDC sign-in with a live SSO session (authorize → code → token), a refresh, a SAML
SP-initiated sign-in (HTTP-Redirect AuthnRequest → the auto-posting signed Response), an admin search.
Each returns what it got, or raises FlowError saying which step answered what."""
import base64
import json
import re
import time
import uuid
import zlib
from urllib.parse import parse_qs, urlencode, urlsplit

SAML_RESPONSE_RE = re.compile(r'name="SAMLResponse" value="([^"]+)"')


class FlowError(AssertionError):
    pass


def expect(response, status, step):
    if response.status_code != status:
        raise FlowError(f"{step}: HTTP {response.status_code} (expected {status}): {response.text[:200]!r}")
    return response


def oidc_code(browser, seeded, instance=None, scope="openid profile email"):
    """The authorization code of a browser that has an SSO session (no login page on the way)."""
    query = urlencode({"response_type": "code", "client_id": seeded["client_id"], "scope": scope,
                       "redirect_uri": seeded["redirect_uri"], "state": "s", "nonce": uuid.uuid4().hex})
    response = expect(browser.get(f"/t/acme/oidc/authorize?{query}", instance=instance), 302, "authorize")
    location = response.headers["Location"]
    if not location.startswith(seeded["redirect_uri"]):
        raise FlowError(f"authorize: sent to {location[:120]!r}, not back to the app")
    return parse_qs(urlsplit(location).query)["code"][0]


def token(browser, seeded, form, instance=None):
    auth = (seeded["client_id"], seeded["client_secret"])
    response = browser.post("/t/acme/oidc/token", data=form, auth=auth, instance=instance)
    return json.loads(expect(response, 200, f"token ({form['grant_type']})").text)


def oidc_sign_in(browser, seeded, instance=None, scope="openid profile email offline_access"):
    code = oidc_code(browser, seeded, instance, scope)
    return token(browser, seeded, {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": seeded["redirect_uri"]}, instance)


def refresh(browser, seeded, refresh_token, instance=None):
    return token(browser, seeded, {"grant_type": "refresh_token", "refresh_token": refresh_token}, instance)


def kid_of(jwt):
    header = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def saml_sign_in(browser, seeded, instance=None):
    """The SAMLResponse (XML bytes) for an SP-initiated sign-in of a browser with an SSO session."""
    instant = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    xml = (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{uuid.uuid4().hex}" Version="2.0" '
           f'IssueInstant="{instant}" Destination="{browser.base}/t/acme/saml/sso" '
           f'AssertionConsumerServiceURL="{seeded["acs_url"]}"><saml:Issuer>{seeded["sp_entity"]}</saml:Issuer>'
           f'</samlp:AuthnRequest>')
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    request = base64.b64encode(deflater.compress(xml.encode()) + deflater.flush()).decode()
    response = browser.get("/t/acme/saml/sso?" + urlencode({"SAMLRequest": request, "RelayState": "r"}),
                           instance=instance)
    match = SAML_RESPONSE_RE.search(expect(response, 200, "SAML SSO").text)
    if match is None:
        raise FlowError(f"SAML SSO: no SAMLResponse in the page: {response.text[:200]!r}")
    return base64.b64decode(match.group(1).replace("&#43;", "+"))


def admin_search(browser, filters, instance=None):
    """The admin's account list filtered by `filters` (name, email, lock=locked, …): its HTML."""
    response = browser.get("/admin/accounts?" + urlencode(filters), instance=instance)
    return expect(response, 200, "admin search").text
