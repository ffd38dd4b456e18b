"""External URLs are built from IDP_BASE_URL, never from the request's Host header."""
import re
from urllib.parse import urlsplit

from flask import current_app

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # C0 controls and DEL


def external_url(path):
    return current_app.config["IDP_BASE_URL"] + "/" + path.lstrip("/")


def issuer_for(slug):
    return external_url(f"/t/{slug}")


def saml_metadata_url_for(slug):
    return external_url(f"/t/{slug}/saml/metadata")


def safe_next(target, default="/"):
    """Follow `next` only to a local path: no scheme, no host, no '//' or '\\' tricks."""
    if not target or not isinstance(target, str) or len(target) > 4000:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if _CONTROL.search(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
