"""Random tokens and their stored digests (only digests go to the database)."""
import hashlib
import hmac
import secrets


def new_token(nbytes=32):
    return secrets.token_urlsafe(nbytes)


def digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a, b):
    """Constant-time comparison of two strings."""
    return hmac.compare_digest(str(a).encode("utf-8"), str(b).encode("utf-8"))
