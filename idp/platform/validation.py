"""Small field validators shared by the services (messages are translatable)."""
import re
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

PHONE_RE = re.compile(r"^[0-9]{10,15}$")
# Characters XML 1.0 cannot carry (C0 controls except tab and line breaks, U+FFFE/U+FFFF): names and
# group names go into SAML assertions, so such a value would make the user's every SAML sign-in fail.
NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# The largest integer SQLite and PostgreSQL (bigint) hold, so the largest row id: a larger number in a query
# overflows the database driver (a 500, not a 404 or a 400).
MAX_ID = 2**63 - 1


def is_number(text):
    """ASCII digits only: str.isdigit() also takes '²' or '①', which int() refuses (a 500, not a 400)."""
    return text.isascii() and text.isdigit()


def parse_number(text, maximum=MAX_ID):
    """`text` (a form or query value) as an int when it is ASCII digits no larger than `maximum`, else None.
    The default bound is MAX_ID; the digits are counted before int(), which refuses over 4300 of them."""
    if not isinstance(text, str) or not is_number(text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(maximum)):
        return None
    value = int(digits)
    return value if value <= maximum else None


def parse_ids(values):
    """The row ids among form values (checkboxes): anything that is not a number is left out; None when a
    number is larger than any id can be (MAX_ID), which the caller refuses."""
    ids = [parse_number(text) for text in values if is_number(text)]
    return None if None in ids else ids


def without_xml_invalid(value):
    """`value` without the characters XML 1.0 cannot carry (for data stored before they were refused)."""
    return NOT_XML_RE.sub("", value)


def phone_errors(value):
    """Phone numbers: digits only, no hyphens (as the seed screens show); empty is allowed."""
    if value and not PHONE_RE.match(value):
        return [_l("電話番号はハイフンなしの半角数字（10〜15桁）で入力してください。")]
    return []


def text_errors(value, *, required, max_length, required_message=None):
    if required and not value:
        return [required_message or _l("入力してください。")]
    if len(value) > max_length:
        return [_l("%(n)d文字以内で入力してください。", n=max_length)]
    if NOT_XML_RE.search(value):
        return [_l("制御文字は使用できません。")]
    return []


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def uri_errors(uri, *, allow_fragment=False):
    """https, or http on a loopback host with a port (RFC 8252 §7.3); absolute, no fragment."""
    try:
        parts = urlsplit(uri or "")
        port = parts.port
    except ValueError:
        return [_l("URLの形式が正しくありません。")]
    if not parts.netloc or (parts.fragment and not allow_fragment) or len(uri) > 2000:
        return [_l("URLの形式が正しくありません。")]
    if parts.scheme == "https":
        return []
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and port:
        return []
    return [_l("URLはhttps://で始めてください（http://はループバックアドレスのみ）。")]
