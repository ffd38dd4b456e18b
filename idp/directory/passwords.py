"""Password hashing (argon2id, OWASP parameters) and the password policy.

Hashes are made and verified by the native argon2 build that the project's install compiles
(argon2_native: a third of the CPU on this AVX-512 machine), or, where it was not built (no C compiler
at install time), by argon2-cffi's portable wheel, with one warning. Both make and read the same
standard hashes.
"""
import gzip
import logging
import os
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from flask_babel import lazy_gettext as _l

from idp.directory import argon2_native

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
PARAMETERS = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}
PORTABLE = "argon2-cffi (portable wheel)"
log = logging.getLogger("idp.passwords")


def _make_hasher():
    """(hasher, description): the native build when it loads, argon2-cffi otherwise (one warning)."""
    lib = argon2_native.load()
    if lib is not None:
        return argon2_native.NativeHasher(lib, **PARAMETERS), lib.description()
    log.warning("password hashing: the native argon2 build is missing (no C compiler when the project was "
                "installed): argon2-cffi's portable build runs instead, and each password check costs 2-3x "
                "the CPU (a login about 2x). Install a C compiler (gcc) and reinstall the project.")
    return PasswordHasher(**PARAMETERS), PORTABLE


_hasher, _backend = _make_hasher()


def backend():
    """Which argon2 runs, in a few words (`idp serve` logs it at start-up)."""
    return _backend


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
    except (VerificationError, ValueError):  # ValueError: InvalidHashError, or a hash that is not ASCII
        return False, False
    try:
        return True, _hasher.check_needs_rehash(password_hash)
    except ValueError:  # valid for argon2 but not in the form argon2-cffi parses: made again, standard
        return True, True


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


def _local_part(email):
    """The part of the address before @ that a password may not contain (shorter than 3: no rule)."""
    local = (email or "").split("@")[0].lower()
    return local if len(local) >= 3 else ""


def rules(email):
    """The policy as every set-password page lists it: one line per rule `policy_errors` checks for the
    password of `email` (the last one names its local part)."""
    local = _local_part(email)
    return [
        _l("%(n)d文字以上", n=MIN_LENGTH),
        _l("英大文字・英小文字・数字・記号のうち3種類以上を含む"),
        _l("半角の英数字と記号のみ（空白・全角文字は使えません）"),
        _l("よく使われているパスワード（Password1234 など）ではない"),
    ] + ([_l("メールアドレスの@より前の部分（%(local)s）を含まない", local=local)] if local else [])


def policy_errors(password, confirm, email=None):
    """List every policy rule the new password breaks (empty list: acceptable), each message naming it."""
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
    local_part = _local_part(email)
    if local_part and local_part in password.lower():
        errors.append(_l("パスワードにメールアドレスの@より前の部分（%(local)s）を含めることはできません。",
                         local=local_part))
    return errors
