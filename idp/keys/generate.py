"""Key material: RSA-2048 and P-256 key pairs, their public JWKs and a self-signed certificate."""
import base64
import hashlib
import json
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey, RSAKey

ALGORITHMS = ("RS256", "ES256")
CERTIFICATE_YEARS = 10


def new_private_key(alg):
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported algorithm {alg!r}")


def private_pem(private_key):
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def public_jwk(private_key, alg):
    """The public JWK with its RFC 7638 thumbprint as `kid`."""
    key_class = RSAKey if alg == "RS256" else ECKey
    jwk = key_class.import_key(private_key.public_key()).as_dict(private=False)
    members = {k: jwk[k] for k in (("e", "kty", "n") if alg == "RS256" else ("crv", "kty", "x", "y"))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    thumbprint = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**members, "kid": thumbprint, "use": "sig", "alg": alg}


def self_signed_certificate(private_key, common_name, now):
    """A long-lived self-signed certificate for SAML metadata (SPs pin it; its dates are not checked)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * CERTIFICATE_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(private_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
