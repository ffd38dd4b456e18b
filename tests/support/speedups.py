"""What makes the suite fast without changing what a test sees (conftest.py installs these).

Each test still starts on an empty database with cold caches; only work whose result a test cannot
tell apart from a fresh one is done once per test process instead of once per test:

- `BytecodeCache`: Jinja's compiled templates, shared by every app of the process (each Flask app has
  its own Jinja environment and would compile every template it renders again, ~15 ms each).
- `RecycledPasswordHasher`: real argon2id hashes, made by the app's own hasher with its own parameters,
  recycled across tests: within one test every `hash()` still returns a different hash (a different
  salt), and `verify()` of a (hash, password) pair already checked answers as argon2 did then.

Signing keys are not recycled (RSA-2048 generation is ~30 ms a tenant): the app caches what it derives
from a key per process by key id (keys.store, the SAML xmlsec keys), certificate included, so a key that
came back in a later test would bring an earlier test's certificate with it.
"""
import threading

import jinja2
from argon2.exceptions import VerifyMismatchError


class BytecodeCache(jinja2.BytecodeCache):
    """Jinja bytecode in memory. Buckets are keyed by template name and file and checked against the
    source's checksum, so a changed template is compiled again."""

    def __init__(self):
        self._code = {}

    def load_bytecode(self, bucket):
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


class _Pool:
    """Values made by `make(key)`, handed out in order from the start of every test (thread-safe)."""

    def __init__(self, make):
        self._make = make
        self._made = {}
        self._used = {}
        self._lock = threading.Lock()

    def new_test(self):
        with self._lock:
            self._used.clear()

    def take(self, key):
        with self._lock:
            made = self._made.setdefault(key, [])
            index = self._used.get(key, 0)
            self._used[key] = index + 1
            if index < len(made):
                return made[index]
        value = self._make(key)  # outside the lock: argon2 takes a while
        with self._lock:
            made.append(value)
        return value


def _as_bytes(password):
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


class RecycledPasswordHasher:
    """Stands in for an argon2 `PasswordHasher`, delegating to it (see the module docstring)."""

    def __init__(self, inner):
        self.inner = inner
        self._hashes = _Pool(inner.hash)
        self._verified = {}  # (hash, password bytes) -> True (matched) / False (mismatch)

    def new_test(self):
        self._hashes.new_test()

    def hash(self, password, *, salt=None):
        if salt is not None:
            return self.inner.hash(password, salt=salt)
        return self._hashes.take(_as_bytes(password))

    def verify(self, hash, password):
        key = (hash if isinstance(hash, str) else bytes(hash).decode("ascii", "replace"), _as_bytes(password))
        known = self._verified.get(key)
        if known is None:
            try:
                self.inner.verify(hash, password)
            except VerifyMismatchError:
                self._verified[key] = False
                raise
            self._verified[key] = True
            return True
        if not known:
            raise VerifyMismatchError("The password does not match the supplied hash")
        return True

    def __getattr__(self, name):  # check_needs_rehash, time_cost, memory_cost, …
        return getattr(self.inner, name)


class Speedups:
    """The two above, installed for the session by `install()`; `new_test()` before every test."""

    def __init__(self, hasher):
        self.hasher = hasher

    def new_test(self):
        self.hasher.new_test()


def install(monkeypatch):
    """Install the speed-ups with `monkeypatch` (a session-scoped pytest.MonkeyPatch)."""
    from flask import Flask

    from idp.directory import passwords

    monkeypatch.setattr(Flask, "jinja_options", {**Flask.jinja_options, "bytecode_cache": BytecodeCache()})
    hasher = RecycledPasswordHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    return Speedups(hasher)
