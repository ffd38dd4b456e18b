"""The native argon2 build (phc-winner-argon2 from third_party/argon2/, compiled by setup.py with the
project's install), loaded with ctypes, behind argon2-cffi's `PasswordHasher` interface.

The library is `idp.directory._argon2`, a plain shared library (no Python module inside): found where
Python would find the extension (the source tree after `pip install -e .`, site-packages after
`pip install .`) and opened with ctypes, which releases the GIL during each call as argon2-cffi does.
On x86-64 it runs the fastest inner loop the CPU supports (third_party/argon2/dispatch.c). `load()` is
None when the install found no C compiler; passwords.py then falls back to argon2-cffi.

`NativeHasher` is a `PasswordHasher` (same parameters, `check_needs_rehash`, exceptions) whose `hash`
and `verify` call the same C functions argon2-cffi's `hash_secret` / `verify_secret` call, so hashes
are the standard `$argon2id$v=19$m=…,t=…,p=…$salt$hash` strings both verify.
"""
import ctypes
import importlib.util
import os
from ctypes import c_char_p, c_int, c_size_t, c_uint32, c_void_p

from argon2 import PasswordHasher
from argon2.exceptions import HashingError, InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import ARGON2_VERSION

MODULE = "idp.directory._argon2"
ARGON2_OK = 0
ARGON2_VERIFY_MISMATCH = -35
HEADER_TYPES = {b"$argon2i$": 1, b"$argon2d$": 0, b"$argon2id": 2}  # argon2_type


class Library:
    """The loaded library with its C signatures declared (size_t arguments need them on 64-bit)."""

    def __init__(self, path):
        self.path = path
        lib = ctypes.CDLL(path)
        self.hash = _declare(lib.idp_argon2_hash, c_uint32, c_uint32, c_uint32, c_char_p, c_size_t, c_char_p, c_size_t,
                             c_void_p, c_size_t, c_char_p, c_size_t, c_int, c_uint32)
        self.verify = _declare(lib.idp_argon2_verify, c_char_p, c_char_p, c_size_t, c_int)
        self.encodedlen = _declare(lib.argon2_encodedlen, c_uint32, c_uint32, c_uint32, c_uint32, c_uint32, c_int,
                                   restype=c_size_t)
        self.error_message = _declare(lib.argon2_error_message, c_int, restype=c_char_p)
        self.select = _declare(lib.idp_argon2_select, c_int)
        self.variant = _declare(lib.idp_argon2_variant, restype=c_char_p)

    def variants(self):
        """Every variant this CPU runs, as (level for `select`, name), slowest first; the best stays selected."""
        found = []
        while self.select(len(found)) == len(found):
            found.append((len(found), self.variant().decode()))
        self.select(-1)
        return found

    def description(self):
        return f"argon2 (phc-winner-argon2, native {self.variant().decode()} build)"


def _declare(function, *argtypes, restype=c_int):
    function.argtypes, function.restype = list(argtypes), restype
    return function


def library_path():
    """Where the built library is, or None (not built: no compiler at install time)."""
    try:
        spec = importlib.util.find_spec(MODULE)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec and spec.origin and os.path.isfile(spec.origin) else None


def load():
    """The native library, or None when it was not built or does not load."""
    path = library_path()
    if path is None:
        return None
    try:
        return Library(path)
    except (OSError, AttributeError):  # unloadable, or a build without our symbols
        return None


class NativeHasher(PasswordHasher):
    """argon2-cffi's `PasswordHasher` with `hash` and `verify` done by the native library."""

    __slots__ = ("lib",)

    def __init__(self, lib, **parameters):
        super().__init__(**parameters)
        self.lib = lib

    def hash(self, password, *, salt=None):
        secret = _as_bytes(password, self.encoding)
        salt = salt or os.urandom(self.salt_len)
        t, m, p, kind = self.time_cost, self.memory_cost, self.parallelism, self.type.value
        size = self.lib.encodedlen(t, m, p, len(salt), self.hash_len, kind) + 1
        out = ctypes.create_string_buffer(size)
        rv = self.lib.hash(t, m, p, secret, len(secret), salt, len(salt), None, self.hash_len, out, size, kind,
                           ARGON2_VERSION)
        if rv != ARGON2_OK:
            raise HashingError(self.lib.error_message(rv).decode())
        return out.value.decode("ascii")

    def verify(self, hash, password):
        try:
            encoded = _as_bytes(hash, "ascii")
        except UnicodeEncodeError:
            raise InvalidHashError from None
        argon2_type = HEADER_TYPES.get(encoded[:9])
        if argon2_type is None or b"\0" in encoded:
            raise InvalidHashError
        secret = _as_bytes(password, self.encoding)
        rv = self.lib.verify(encoded, secret, len(secret), argon2_type)
        if rv == ARGON2_OK:
            return True
        message = self.lib.error_message(rv).decode()
        raise VerifyMismatchError(message) if rv == ARGON2_VERIFY_MISMATCH else VerificationError(message)


def _as_bytes(value, encoding):
    return value.encode(encoding) if isinstance(value, str) else bytes(value)
