"""Password hashing (argon2id, OWASP parameters) and the password policy."""
import gzip
import os
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

MIN_LENGTH = 10
SYMBOLS = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def hash_password(password):
    return _hasher.hash(password)


def verify_password(password_hash, password):
    """Return (ok, needs_rehash). A missing hash still costs one verification."""
    if not password_hash:
        _burn_time(password)
        return False, False
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _dummy_hash():
    return _hasher.hash("dummy password used to equalise timing")


def _burn_time(password):
    try:
        _hasher.verify(_dummy_hash(), password)
    except VerificationError:
        pass


def burn_time(password=""):
    """Spend the time of one verification (unknown accounts answer like known ones)."""
    _burn_time(password or "x")


@lru_cache(maxsize=1)
def common_passwords():
    path = os.path.join(os.path.dirname(__file__), "data", "common-passwords.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def policy_errors(password, confirm, email=None):
    """List every policy rule the new password breaks (empty list: acceptable)."""
    errors = []
    if password != confirm:
        errors.append(_l("確認用のパスワードが一致しません。"))
    if len(password) < MIN_LENGTH:
        errors.append(_l("パスワードは%(n)d文字以上にしてください。", n=MIN_LENGTH))
    if any(not (0x21 <= ord(ch) <= 0x7E) for ch in password):
        errors.append(_l("パスワードには半角英数字と記号のみ使用できます。"))
    classes = sum([
        any(ch.isascii() and ch.isupper() for ch in password),
        any(ch.isascii() and ch.islower() for ch in password),
        any(ch.isascii() and ch.isdigit() for ch in password),
        any(ch in SYMBOLS for ch in password),
    ])
    if classes < 3:
        errors.append(_l("パスワードには英大文字・英小文字・数字・記号のうち3種類以上を含めてください。"))
    if password.lower() in common_passwords():
        errors.append(_l("よく使われているパスワードは使用できません。"))
    local_part = (email or "").split("@")[0].lower()
    if len(local_part) >= 3 and local_part in password.lower():
        errors.append(_l("パスワードにメールアドレスの一部を含めることはできません。"))
    return errors
