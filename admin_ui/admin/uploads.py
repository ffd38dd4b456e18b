"""Uploaded CSV files waiting for the admin to apply or discard them (instance folder, one day max).

A file is named by tenant, admin and a random token, so only the admin who uploaded it can
see, apply or discard it.
"""
import glob
import os
import re
import time

from flask import current_app

from idp.platform.random_tokens import new_token

MAX_AGE_SECONDS = 24 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _directory():
    path = os.path.join(current_app.config["IDP_INSTANCE_DIR"], "admin_uploads")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _path(account, token):
    if not TOKEN_RE.match(token or ""):
        return None
    return os.path.join(_directory(), f"{account.tenant_id}-{account.id}-{token}.csv")


def save(account, data):
    _remove_stale()
    token = new_token(24)
    with open(_path(account, token), "wb") as fh:
        fh.write(data)
    return token


def load(account, token):
    """The bytes of the admin's upload, or None when unknown, discarded or expired."""
    path = _path(account, token)
    if path is None or not os.path.exists(path) or time.time() - os.path.getmtime(path) > MAX_AGE_SECONDS:
        return None
    with open(path, "rb") as fh:
        return fh.read()


def discard(account, token):
    path = _path(account, token)
    if path is not None and os.path.exists(path):
        os.remove(path)


def _remove_stale():
    for path in glob.glob(os.path.join(_directory(), "*.csv")):
        try:
            if time.time() - os.path.getmtime(path) > MAX_AGE_SECONDS:
                os.remove(path)
        except OSError:
            pass
