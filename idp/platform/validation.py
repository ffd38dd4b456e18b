"""Small field validators shared by the services (messages are translatable)."""
import re
import unicodedata
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

PHONE_RE = re.compile(r"^[0-9]{10,15}$")
MOBILE_RE = re.compile(r"^0[789]0[0-9]{8}$")  # a Japanese mobile number: 070/080/090 and 8 digits
# What people put between the digits of a number (after NFKC): spaces, dots, parentheses, every kind of
# hyphen and dash, and the katakana prolonged sound mark an IME types for "-" (ー).
PHONE_SEPARATORS_RE = re.compile(r"[\s.()\-\u2010-\u2015\u2212\u30fc]")
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


def clean_phone(value):
    """A phone number as a person types it, as it is stored: full-width characters made half-width (NFKC),
    separators dropped (090-1234-5678, ０９０ １２３４ ５６７８), +81 read as the domestic 0, and the 0 a
    spreadsheet drops from a mobile number restored (9012345678 -> 09012345678: no domestic number starts
    with 70/80/90). A value that still is not a number comes back stripped for `phone_errors` to refuse;
    other E.164 numbers keep their `+`."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    number = PHONE_SEPARATORS_RE.sub("", text)
    sign, digits = ("+", number[1:]) if number.startswith("+") else ("", number)
    if not is_number(digits):
        return text
    if sign and digits.startswith("81"):
        sign, digits = "", "0" + digits[2:].lstrip("0")
    if not sign and len(digits) == 10 and digits[:2] in ("70", "80", "90"):
        digits = "0" + digits
    return sign + digits


def phone_errors(value, *, mobile=False):
    """Why a phone number (as typed: `clean_phone` applies first) cannot be stored; empty is allowed.
    A mobile number must be a Japanese one (the SMS of two-step verification goes to it)."""
    number = clean_phone(value)
    if not number:
        return []
    if mobile and not MOBILE_RE.match(number):
        return [_l("携帯電話番号は070・080・090で始まる11桁の番号を入力してください（例：090-1234-5678）。")]
    if not mobile and not PHONE_RE.match(number):
        return [_l("電話番号は市外局番から10〜15桁の数字で入力してください（例：03-1234-5678）。")]
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
