"""SP metadata by URL in tests: an SP's metadata document and a local HTTP server publishing it.

The server runs on 127.0.0.1 (a port of its own per test); the test app's IDP_BASE_URL is on loopback,
so fetching from it is allowed there, as in development (tests/idp/saml, tests/admin_ui/admin,
tests/idp/cli)."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


ENTITY_ID = "https://sp.example.com/saml"


def cert_body(pem):
    return "".join(line for line in pem.strip().splitlines() if "-----" not in line)


def sp_metadata(cert, acs=(("https://sp.example.com/acs", 1, True),), entity_id=ENTITY_ID):
    """An SP's metadata document (bytes): a signing certificate and HTTP-POST ACS (url, index, is_default)."""
    services = "".join(
        f'<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" index="{index}"'
        f' isDefault="{"true" if default else "false"}" Location="{url}"/>' for url, index, default in acs)
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
    entityID="{entity_id}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_body(cert)}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    {services}
  </md:SPSSODescriptor>
</md:EntityDescriptor>""".encode()


class MetadataServer:
    """Answers every GET with `status`, `body` and `headers` (after `delay` seconds); records the paths.
    HTTP/1.0 answers: the connection closes after each one."""

    def __init__(self):
        self.status, self.body, self.headers, self.delay, self.paths = 200, b"", {}, 0, []
        self.send_length = True  # False: no Content-Length, the body ends when the connection closes
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.paths.append(self.path)
                time.sleep(server.delay)
                self.send_response(server.status)
                for name, value in {"Content-Type": "application/samlmetadata+xml", **server.headers}.items():
                    self.send_header(name, value)
                if server.send_length:
                    self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                try:
                    self.wfile.write(server.body)
                except OSError:  # the client gave up (timeout, too large)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/saml/metadata"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# Fixtures of the tests that fetch SP metadata (import them into a test module or conftest.py)
@pytest.fixture(scope="session")
def sp_cert():
    from tests.protocols.saml.conftest import make_key_pair
    return make_key_pair("sp.example.com").cert


@pytest.fixture(scope="session")
def new_sp_cert():
    from tests.protocols.saml.conftest import make_key_pair
    return make_key_pair("sp-2027.example.com").cert


@pytest.fixture
def metadata_server(sp_cert):
    server = MetadataServer()
    server.body = sp_metadata(sp_cert)
    yield server
    server.close()
