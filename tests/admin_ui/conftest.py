"""Fixtures of the browser-facing tests: the tenant `acme`, one of its users, a hasher that counts its calls."""
import pytest


@pytest.fixture
def acme(factory):
    """The tenant `acme` (owner@ and admin@acme.example.com), created through the services."""
    return factory.tenant()


@pytest.fixture
def account_id(acme, factory):
    """The id of taro@acme.example.com (山田 太郎, STRONG_PASSWORD), a user of acme."""
    return factory.account()[0]


@pytest.fixture
def hasher_calls(monkeypatch):
    """The password hasher's calls from now on, in order: "hash" and "verify"."""
    from idp.directory import passwords
    calls = []

    class CountingHasher:
        def __init__(self, inner):
            self.inner = inner

        def hash(self, *args):
            calls.append("hash")
            return self.inner.hash(*args)

        def verify(self, *args):
            calls.append("verify")
            return self.inner.verify(*args)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(passwords, "_hasher", CountingHasher(passwords._hasher))
    return calls
