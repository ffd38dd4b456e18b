"""What makes the suite fast without changing what a test sees (conftest.py installs these).

Each test still starts on an empty database with cold caches; only work whose result a test cannot
tell apart from a fresh one is done once per test process instead of once per test:

- `BytecodeCache`: Jinja's compiled templates, shared by every app of the process (each Flask app has
  its own Jinja environment and would compile every template it renders again, ~15 ms each).
- `RecycledPasswordHasher`: real argon2id hashes, made by the app's own hasher with its own parameters,
  recycled across tests: within one test every `hash()` still returns a different hash (a different
  salt), and `verify()` of a (hash, password) pair already checked answers as argon2 did then.
- `cached_builder`: the URL builders Werkzeug compiles for every route of every new app (Python source
  made from the rule and compiled, 336 per app: ~35 ms of the ~55 ms a `create_app` takes), shared by
  rules of the same shape. A builder is a function of the rule's parts and is bound to its own rule.
- `RecycledKeys`: signing key pairs (RSA-2048 generation ~33 ms, and every tenant has one), handed out
  like the hashes: the n-th key of an algorithm in a test is the n-th of the pool, so two keys of one
  test still differ; their PEMs are parsed once per process (~30 ms for RSA). What the app derives from
  a key by key id per process (keys.store, the SAML certificate bodies) is forgotten before each test,
  so a key that comes back brings nothing of the earlier test (its certificate is made again).
- `SharedStatementCache`: SQLAlchemy compiles each statement once per engine and keys what it compiled
  by the engine's dialect object; every test has a new engine, so each test compiled every statement it
  ran again (~15 % of the suite's time). One statement cache serves every engine of the process, and
  dialects of one kind (same class, same server version, same parameter style) key it alike. The SQL
  sent is the same text either way.
"""
import functools
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


def cached_builder(compile_builder):
    """Rule._compile_builder, memoized by what the generated code is made of (the rule's text, its
    trace of static and variable parts, its defaults' names, append_unknown); a rule whose default fills
    one of its own variables has that value baked in by its converter, and is compiled as before."""
    builders = {}

    @functools.wraps(compile_builder)
    def _compile_builder(rule, append_unknown=True):
        defaults = rule.defaults or {}
        if any(is_dynamic and data in defaults for is_dynamic, data in rule._trace):
            return compile_builder(rule, append_unknown)
        key = (rule.rule, tuple(rule._trace), tuple(defaults), append_unknown)
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(rule, append_unknown)
        return builder
    return _compile_builder


class RecycledKeys:
    """Stands in for keys.generate.new_private_key and for the PEM parsing of keys.store (see above)."""

    def __init__(self, new_private_key, serialization):
        self._keys = _Pool(new_private_key)
        self._serialization = serialization
        self._parsed = {}

    def new_test(self):
        self._keys.new_test()

    def new_private_key(self, alg):
        return self._keys.take(alg)

    def load_pem_private_key(self, data, password, *args, **kwargs):
        if password is not None or args or kwargs:
            return self._serialization.load_pem_private_key(data, password, *args, **kwargs)
        key = bytes(data)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = self._serialization.load_pem_private_key(data, password)
        return parsed

    def __getattr__(self, name):  # the rest of cryptography's serialization module (Encoding, …)
        return getattr(self._serialization, name)


class SharedStatementCache:
    """Installed on each new engine (Flask-SQLAlchemy's `_make_engine`); see the module docstring."""

    SIZE = 20_000

    def __init__(self):
        from sqlalchemy.util import LRUCache
        self.statements = LRUCache(self.SIZE)

    @staticmethod
    def dialect_key(dialect):
        return (type(dialect), getattr(dialect, "server_version_info", None), dialect.paramstyle)

    def make_engine(self, make_engine):
        shared = self

        @functools.wraps(make_engine)
        def _make_engine(extension, bind_key, options, app):
            engine = make_engine(extension, bind_key, options, app)
            engine._compiled_cache = shared.statements
            return engine
        return _make_engine


class Speedups:
    """The ones above, installed for the session by `install()`; `new_test()` before every test."""

    def __init__(self, hasher, keys, per_process_key_caches):
        self.hasher, self.keys, self.per_process_key_caches = hasher, keys, per_process_key_caches

    def new_test(self):
        self.hasher.new_test()
        self.keys.new_test()
        for cache in self.per_process_key_caches:
            cache.clear()


def install(monkeypatch):
    """Install the speed-ups with `monkeypatch` (a session-scoped pytest.MonkeyPatch)."""
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
    from sqlalchemy.engine.interfaces import Dialect
    from werkzeug.routing.rules import Rule

    from idp.directory import passwords
    from idp.keys import store
    from protocols.saml import xml_security

    monkeypatch.setattr(Flask, "jinja_options", {**Flask.jinja_options, "bytecode_cache": BytecodeCache()})
    hasher = RecycledPasswordHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(Rule, "_compile_builder", cached_builder(Rule._compile_builder))
    keys = RecycledKeys(store.new_private_key, store.serialization)
    monkeypatch.setattr(store, "new_private_key", keys.new_private_key)
    monkeypatch.setattr(store, "serialization", keys)
    statements = SharedStatementCache()
    monkeypatch.setattr(SQLAlchemy, "_make_engine", statements.make_engine(SQLAlchemy._make_engine))
    for dialect_class in (SQLiteDialect_pysqlite, PGDialect_psycopg2):
        # the hash by class alone: a dialect learns its server version at its first connection
        monkeypatch.setattr(dialect_class, "__hash__", lambda self: hash(type(self)), raising=False)
        monkeypatch.setattr(dialect_class, "__eq__", lambda self, other: isinstance(other, Dialect) and (
            SharedStatementCache.dialect_key(self) == SharedStatementCache.dialect_key(other)), raising=False)
    return Speedups(hasher, keys, (store._cache, xml_security._certificate_bodies))
