"""TOTP (RFC 6238) as authenticator apps do it: SHA-1, 6 digits, 30-second steps.

A code is accepted for the current step and one step either side (clock
drift). Replay protection: an account remembers the last step it accepted
and takes only codes of later steps, so a code that worked once never works
again. Secrets are stored encrypted (idp.platform.encryption).
"""
from datetime import timezone

import pyotp
import segno

from idp.platform import encryption
from idp.platform.random_tokens import same
from idp.platform.validation import is_number

PERIOD = 30
DIGITS = 6
DRIFT_STEPS = 1


def new_secret():
    return pyotp.random_base32()  # 160 bits, base32


def encrypt_secret(secret):
    return encryption.encrypt(secret.encode("ascii"))


def decrypt_secret(stored):
    return encryption.decrypt(stored).decode("ascii")


def issuer_for(product_name, tenant):
    return f"{product_name} ({tenant.company_name})"


def provisioning_uri(secret, *, email, issuer):
    """The otpauth:// URI the QR code carries (label = email, issuer = product and tenant)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri):
    """The QR code of `uri` as inline SVG markup (generated here, no external service)."""
    return segno.make(uri, error="m").svg_inline(scale=4, title="QR")


def _timestamp(now):
    return now.replace(tzinfo=timezone.utc).timestamp()  # naive UTC in, epoch seconds out


def accepted_step(secret, code, now, last_step=None):
    """The time step `code` belongs to (within the drift window, after `last_step`), or None."""
    code = (code or "").strip()
    if len(code) != DIGITS or not is_number(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = int(_timestamp(now) // PERIOD)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if same(totp.at(step * PERIOD), code) and (last_step is None or step > last_step):
            found = step  # no early exit: the same work whatever matches
    return found


def code_at(secret, now):
    """The code an authenticator shows at `now` (tests and the demo use it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).at(int(_timestamp(now)))
