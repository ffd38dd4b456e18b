"""SAML SSO benchmark (a script, not a test): `.venv/bin/python bench/saml.py [-n 800] [-w 2] [-c 1,4,16]`.

Starts the app with `idp serve` on 127.0.0.1 (fresh instance in a temp dir, rate limits off) with a
seeded tenant, SAML SP (response and assertion signed) and users. Each load thread is a browser
with a live SSO session that sends SP-initiated AuthnRequests over HTTP-Redirect (built before the
clock starts, one ID each) and gets the auto-posting form with the signed Response: the whole
request, i.e. parsing, replay check, group check, login event, two in-process RSA-SHA256
signatures (the key parsed once per process: protocols.saml.xml_security.sign). Prints signed
responses/s and p50/p99 latency per concurrency level, and the CPU time per response of the server's workers and of
the load generator (what the rate would be with the cores free of anything else: bench/oidc.py's `run`);
the first response is verified (both signatures) with xmlsec against the metadata's certificate.
The load generator is bench/oidc.py's `Http` (http.client, a cookie jar), lighter than `requests`: its
CPU shares the two cores with the workers.

For comparison it then times pysaml2's default path for the same response (Server.
create_authn_response with sign_response and sign_assertion: the `xmlsec1` program runs for each
signature) in one process and in `-w` processes, next to our signing of the same XML in-process.
"""
import argparse
import base64
import html
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import time
import zlib
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))
from oidc import CSRF_RE, PASSWORD, Http, bench_environment, run, served  # noqa: E402  (the OIDC benchmark's helpers)

SP_ENTITY = "https://sp.bench.example.com/metadata"
ACS_URL = "https://sp.bench.example.com/acs"
FORM_RE = re.compile(r'name="SAMLResponse" value="([^"]+)"')
PASSWORD_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def seed(env, users):
    """Tenant, users and the SP, through the services (same instance dir as the server)."""
    os.environ.update(env)
    from idp import create_app
    from idp.directory import accounts, groups
    from idp.logs.audit import OPERATOR
    from idp.platform.clock import utcnow
    from idp.platform.extensions import db
    from idp.saml import registry as saml_registry
    from idp.tenancy import tenants
    app = create_app()
    with app.app_context():
        now = utcnow()
        tenant = tenants.create_tenant(slug="bench", company_name="Bench", owner_email="owner@bench.example.com",
                                       admin_email="admin@bench.example.com", admin_password=PASSWORD,
                                       now=now, actor=OPERATOR).tenant
        for i in range(users):
            accounts.create_account(
                tenant, accounts.NewAccount(email=f"user{i}@bench.example.com", name=f"User {i}"),
                password=PASSWORD, now=now, actor=OPERATOR)
        saml_registry.register(
            tenant, saml_registry.SpSettings(
                name="bench", entity_id=SP_ENTITY, acs_urls=[ACS_URL], sign="both"),
            now=now, actor=OPERATOR, groups=[groups.default_group(tenant)])
        db.session.commit()
    return app


def authn_request_path(base, number):
    """An unsigned HTTP-Redirect AuthnRequest with its own ID (Bindings 3.4.4)."""
    instant = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    xml = (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_bench{number:08d}" Version="2.0" '
           f'IssueInstant="{instant}" Destination="{base}/t/bench/saml/sso" AssertionConsumerServiceURL="{ACS_URL}">'
           f'<saml:Issuer>{SP_ENTITY}</saml:Issuer></samlp:AuthnRequest>')
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    encoded = base64.b64encode(deflater.compress(xml.encode()) + deflater.flush()).decode()
    return f"/t/bench/saml/sso?{urlencode({'SAMLRequest': encoded, 'RelayState': 'bench'})}"


def logged_in_browser(port, email):
    http = Http(port)
    _status, _headers, page = http.request("GET", "/login")
    status, _headers, text = http.request("POST", "/login", form={
        "csrf_token": CSRF_RE.search(page).group(1), "email": email, "password": PASSWORD, "next": "/"})
    assert status == 302 and "idp_sso" in http.cookies, text[:300]
    return http


def signed_response(http, path):
    status, _headers, text = http.request("GET", path)
    match = FORM_RE.search(text)
    if status != 200 or match is None:
        raise RuntimeError(f"no SAMLResponse: HTTP {status} {text[:300]}")
    return base64.b64decode(html.unescape(match.group(1)))


def report(label, concurrency, rate, latencies):
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"{label:<36} c={concurrency:<3} n={len(latencies):<5} {rate:8.1f} responses/s   "
          f"p50 {statistics.median(latencies) * 1000:6.1f} ms   p99 {p99 * 1000:6.1f} ms", flush=True)


def verify_both_signatures(xml, certificate_pem):
    """Check the Response and Assertion signatures like an SP would (xmlsec against the metadata cert)."""
    from lxml import etree

    from protocols.saml.xml_security import DSIG, SAML, verify_enveloped
    root = etree.fromstring(xml)
    verify_enveloped(root, certificate_pem)
    assertion = root.find(f"{{{SAML}}}Assertion")
    verify_enveloped(assertion, certificate_pem)
    assert len(root.findall(f".//{{{DSIG}}}Signature")) == 2


def bench_http(base, port, levels, n, master_pid):
    browsers = [logged_in_browser(port, f"user{i}@bench.example.com") for i in range(max(levels))]
    counter = iter(range(10_000_000))
    for _ in range(8):  # warm both workers (keys decrypted and parsed once each)
        signed_response(browsers[0], authn_request_path(base, next(counter)))
    metadata = Http(port).request("GET", "/t/bench/saml/metadata")[2]
    certificate = re.search(r"<(?:\w+:)?X509Certificate>([^<]+)<", metadata).group(1)
    pem = "-----BEGIN CERTIFICATE-----\n" + certificate + "\n-----END CERTIFICATE-----\n"
    verify_both_signatures(signed_response(browsers[0], authn_request_path(base, next(counter))), pem)
    for c in levels:
        run("SAML SSO (HTTP)", c, lambda i, c=c: [
            lambda http=browsers[i], path=authn_request_path(base, next(counter)): signed_response(http, path)
            for _ in range(n // c)], master_pid)


# --- pysaml2's default path (xmlsec1 program) next to in-process signing of the same XML -------------

def _pysaml2_server(key_file, cert_file, workdir):
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.saml import NAME_FORMAT_BASIC
    from saml2.server import Server
    sp_metadata = (
        f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP_ENTITY}">'
        f'<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'<md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{ACS_URL}" index="0"/>'
        f'</md:SPSSODescriptor></md:EntityDescriptor>')
    config = IdPConfig()
    config.load({
        "entityid": "http://127.0.0.1/t/bench/saml/metadata",
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [("http://127.0.0.1/t/bench/saml/sso", BINDING_HTTP_REDIRECT)]},
            "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                   "name_form": NAME_FORMAT_BASIC}}}},
        "key_file": key_file, "cert_file": cert_file, "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {"inline": [sp_metadata]}, "tmp_path": workdir,
        "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
    })
    return Server(config=config)


def _pysaml2_responses(args):
    """Worker: `count` responses signed twice by pysaml2's default backend; returns the latencies."""
    key_file, cert_file, workdir, count, offset = args
    from saml2 import saml
    server = _pysaml2_server(key_file, cert_file, workdir)
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        server.create_authn_response(
            identity={"email": ["user0@bench.example.com"], "name": ["User 0"], "groups": ["Bench"]},
            in_response_to=f"_py{offset + i}", destination=ACS_URL, sp_entity_id=SP_ENTITY,
            name_id=saml.NameID(format=saml.NAMEID_FORMAT_EMAILADDRESS, text="user0@bench.example.com"),
            authn={"class_ref": PASSWORD_CONTEXT}, sign_response=True, sign_assertion=True)
        latencies.append(time.perf_counter() - start)
    return latencies


def _in_process_responses(args):
    """Worker: the same unsigned pysaml2 XML signed twice with our in-process signing."""
    key_file, cert_file, workdir, count, offset = args
    from cryptography.hazmat.primitives import serialization
    from keys import LoadedKey
    from lxml import etree
    from saml2 import saml

    from protocols.saml.xml_security import SAML, sign
    with open(key_file, "rb") as fh:
        private_key = serialization.load_pem_private_key(fh.read(), password=None)
    with open(cert_file) as fh:
        loaded = LoadedKey(kid="bench", alg="RS256", private_key=private_key, jwk=None, certificate=fh.read())
    server = _pysaml2_server(key_file, cert_file, workdir)
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        response = server.create_authn_response(
            identity={"email": ["user0@bench.example.com"], "name": ["User 0"], "groups": ["Bench"]},
            in_response_to=f"_in{offset + i}", destination=ACS_URL, sp_entity_id=SP_ENTITY,
            name_id=saml.NameID(format=saml.NAMEID_FORMAT_EMAILADDRESS, text="user0@bench.example.com"),
            authn={"class_ref": PASSWORD_CONTEXT}, sign_response=False, sign_assertion=False)
        root = etree.fromstring(str(response).encode())
        sign(root.find(f"{{{SAML}}}Assertion"), loaded)
        sign(root, loaded)
        etree.tostring(root)
        latencies.append(time.perf_counter() - start)
    return latencies


def bench_signing_paths(app, workers, count):
    """Build-and-sign rate of both paths, in 1 and in `workers` processes (no HTTP, no database)."""
    from cryptography.hazmat.primitives import serialization

    from idp import keys
    from idp.platform.clock import utcnow
    from idp.tenancy import tenants
    workdir = tempfile.mkdtemp(prefix="idp-bench-pysaml2-")
    with app.app_context():
        loaded = keys.signing_key(tenants.get_by_slug("bench"), "RS256", utcnow())
        key_file, cert_file = os.path.join(workdir, "key.pem"), os.path.join(workdir, "cert.pem")
        with open(key_file, "wb") as fh:
            fh.write(loaded.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
        with open(cert_file, "w") as fh:
            fh.write(loaded.certificate)
    for label, job, n in (("pysaml2 default (xmlsec1)", _pysaml2_responses, max(20, count // 8)),
                          ("pysaml2 + our in-process signing", _in_process_responses, count)):
        for processes in sorted({1, workers}):
            per = max(1, n // processes)
            jobs = [(key_file, cert_file, workdir, per, p * per) for p in range(processes)]
            with multiprocessing.get_context("spawn").Pool(processes) as pool:
                pool.map(job, [(key_file, cert_file, workdir, 2, 10_000_000 + p) for p in range(processes)])  # warm
                start = time.perf_counter()
                parts = pool.map(job, jobs)
                elapsed = time.perf_counter() - start
            latencies = sorted(x for part in parts for x in part)
            report(f"{label} ({processes}p)", processes, len(latencies) / elapsed, latencies)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=800, help="SSO requests per concurrency level")
    parser.add_argument("-w", "--workers", type=int, default=2, help="idp serve workers (and comparison processes)")
    parser.add_argument("-c", "--concurrency", default="1,4,16", help="concurrency levels")
    parser.add_argument("--skip-pysaml2", action="store_true", help="only the HTTP measurement")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    port, env = bench_environment()
    app = seed(env, users=max(levels))
    with served(port, env, args.workers, "/t/bench/saml/metadata") as master_pid:
        bench_http(env["IDP_BASE_URL"], port, levels, args.n, master_pid)
    if not args.skip_pysaml2:
        bench_signing_paths(app, args.workers, args.n // 4)


if __name__ == "__main__":
    main()
