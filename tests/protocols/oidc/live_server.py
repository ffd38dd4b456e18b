"""The app served over real HTTPS on 127.0.0.1 (werkzeug, threaded) for RP libraries that speak HTTP
themselves and insist on an https issuer (pyoidc). The certificate is self-signed for 127.0.0.1;
clients trust it through `ca_path`."""
import ipaddress
import socket
import ssl
import threading
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest
from werkzeug.serving import make_server

from idp.platform.clock import SystemClock


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_certificate(directory):
    """(cert_path, key_path) of a self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class LiveServer:
    def __init__(self, app, port, cert_path, key_path):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.server = make_server("127.0.0.1", port, app, threaded=True, ssl_context=context)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# Fixtures of the tests that drive an RP library over HTTPS: import them into the test module.
@pytest.fixture
def tls(tmp_path):
    cert_path, key_path = write_certificate(tmp_path)
    return {"port": free_port(), "cert": cert_path, "key": key_path}


@pytest.fixture
def config_overrides(tls):
    # RP libraries check exp/iat against the real time and want an https issuer.
    return {"IDP_BASE_URL": f"https://127.0.0.1:{tls['port']}", "IDP_CLOCK": SystemClock()}


@pytest.fixture
def live(app, tls):
    server = LiveServer(app, tls["port"], tls["cert"], tls["key"])
    yield f"https://127.0.0.1:{tls['port']}"
    server.close()
