"""Encryption at rest for secrets the service must read back (signing keys, TOTP secrets).

The key-encryption key comes from IDP_KEY_ENCRYPTION_KEY or, for the embedded
default, from `{instance}/key_encryption_key` (generated on first start). It is
stretched with HKDF into a Fernet key (AES-128-CBC + HMAC-SHA256). Several
comma-separated keys may be configured: the first encrypts, every one decrypts,
so the key can be rotated by prepending a new one and re-encrypting later.
"""
import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

EXTENSION = "idp_encryption"


class DecryptionError(RuntimeError):
    """A stored secret cannot be decrypted with the configured key(s)."""


def _fernet_key(secret):
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"idp key-encryption-key v1").derive(secret.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


def init_app(app, secret):
    keys = [part.strip() for part in secret.split(",") if part.strip()]
    app.extensions[EXTENSION] = MultiFernet([Fernet(_fernet_key(k)) for k in keys])


def encrypt(data: bytes) -> str:
    return current_app.extensions[EXTENSION].encrypt(data).decode("ascii")


def decrypt(token: str) -> bytes:
    try:
        return current_app.extensions[EXTENSION].decrypt(token.encode("ascii"))
    except InvalidToken:
        raise DecryptionError("stored secret cannot be decrypted: wrong IDP_KEY_ENCRYPTION_KEY?") from None
