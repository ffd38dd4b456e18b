"""The native argon2 build (setup.py, idp/directory/argon2_native.py) and its fallback (passwords.py).

The project's install compiles third_party/argon2 into idp.directory._argon2; on this machine (as on CI,
which has gcc) it must have been built. Its hashes and argon2-cffi's are the same standard strings, each
verifying with the other, for every instruction-set variant this CPU runs; a malformed hash is a
refusal, never an exception; without the library the app runs argon2-cffi and says so once.
"""
import importlib.machinery
import logging
import subprocess
import sys

import argon2
import pytest
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from idp.directory import argon2_native, passwords

PASSWORD = "Sakura-Blossom-2026"
SALT = b"0123456789abcdef"
STANDARD_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture(scope="module")
def lib():
    built = argon2_native.load()
    assert built is not None, "idp.directory._argon2 was not built: is there a C compiler? (pip install -e .)"
    return built


@pytest.fixture
def native(lib, monkeypatch):
    """The app's hasher is a plain native one (no test speed-up around it), with the app's parameters."""
    hasher = argon2_native.NativeHasher(lib, **passwords.PARAMETERS)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    return hasher


@pytest.fixture
def cffi():
    return argon2.PasswordHasher(**passwords.PARAMETERS)


def _variants():
    lib = argon2_native.load()
    return [name for _, name in lib.variants()] if lib else ["missing"]


def test_the_app_runs_the_native_build(lib):
    assert passwords.backend() == lib.description()
    assert passwords.backend().startswith("argon2 (phc-winner-argon2, native ")
    assert lib.variant().decode() in passwords.backend()


@pytest.mark.parametrize("variant", _variants())
def test_every_variant_makes_the_hash_argon2_cffi_makes(lib, cffi, variant):
    """Same salt, same bytes: for each variant this CPU runs (SSE2 … AVX-512F on x86-64)."""
    level = dict((name, level) for level, name in lib.variants())[variant]
    try:
        assert lib.select(level) == level and lib.variant().decode() == variant
        made = argon2_native.NativeHasher(lib, **passwords.PARAMETERS).hash(PASSWORD, salt=SALT)
    finally:
        lib.select(-1)
    assert made == cffi.hash(PASSWORD, salt=SALT)


def test_hashes_verify_both_ways(native, cffi):
    made_natively = passwords.hash_password(PASSWORD)
    assert made_natively.startswith(STANDARD_PREFIX)
    assert argon2.extract_parameters(made_natively) == argon2.Parameters(
        type=argon2.Type.ID, version=19, salt_len=16, hash_len=32, time_cost=2, memory_cost=19456, parallelism=1)
    assert cffi.verify(made_natively, PASSWORD)
    assert passwords.verify_password(cffi.hash(PASSWORD), PASSWORD) == (True, False)
    assert passwords.verify_password(made_natively, PASSWORD) == (True, False)
    assert passwords.hash_password(PASSWORD) != made_natively  # a fresh salt each time


def test_a_wrong_password_fails(native, cffi):
    assert passwords.verify_password(passwords.hash_password(PASSWORD), PASSWORD + "x") == (False, False)
    assert passwords.verify_password(cffi.hash(PASSWORD), "sakura-blossom-2026") == (False, False)
    with pytest.raises(VerifyMismatchError):
        native.verify(cffi.hash(PASSWORD), "")
    with pytest.raises(VerifyMismatchError):
        cffi.verify(native.hash(PASSWORD), PASSWORD[:-1])


def test_a_hash_with_older_parameters_verifies_and_asks_for_a_rehash(native):
    older = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert passwords.verify_password(older, PASSWORD) == (True, True)
    argon2i = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=argon2.Type.I).hash(PASSWORD)
    assert passwords.verify_password(argon2i, PASSWORD) == (True, True)


@pytest.mark.parametrize("malformed", [
    "garbage", "$argon2id$", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$", "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
    STANDARD_PREFIX + "not base64!$x", "$argon2id$v=19$m=19456,t=2,p=1$\0$x", "$argon2id$v=19$m=１９４５６",
    "$bcrypt$2b$12$abc", b"$argon2id$v=19$\xff",
    "$argon2id$v=19$m=4294967295,t=4294967295,p=16777215$c2FsdHNhbHQ$aGFzaA",
])
def test_a_malformed_hash_is_a_refusal(native, malformed):
    assert passwords.verify_password(malformed, PASSWORD) == (False, False)


def test_a_malformed_hash_raises_what_argon2_cffi_raises(native):
    with pytest.raises(InvalidHashError):
        native.verify("$scrypt$whatever", PASSWORD)
    with pytest.raises(InvalidHashError):
        native.verify("$argon2id$v=19$m=１", PASSWORD)


def test_the_library_is_found_where_python_finds_the_extension(lib):
    assert lib.path == argon2_native.library_path()
    assert lib.path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_without_the_library_argon2_cffi_runs_with_one_warning(monkeypatch, caplog, cffi, lib):
    monkeypatch.setattr(argon2_native, "MODULE", "idp.directory._argon2_not_built")
    assert argon2_native.load() is None
    with caplog.at_level(logging.WARNING, logger="idp.passwords"):
        hasher, description = passwords._make_hasher()
    assert description == "argon2-cffi (portable wheel)"
    assert type(hasher) is argon2.PasswordHasher
    warnings = [r for r in caplog.records if r.name == "idp.passwords"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "native argon2 build is missing" in warnings[0].getMessage()
    assert "C compiler" in warnings[0].getMessage()

    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_backend", description)
    assert passwords.backend() == "argon2-cffi (portable wheel)"
    made = passwords.hash_password(PASSWORD)
    assert made.startswith(STANDARD_PREFIX)
    assert argon2_native.NativeHasher(lib, **passwords.PARAMETERS).verify(made, PASSWORD)
    assert passwords.verify_password(made, PASSWORD) == (True, False)
    assert passwords.verify_password(made, "wrong") == (False, False)
    assert passwords.verify_password("$argon2id$v=19$\0", PASSWORD) == (False, False)
    assert passwords.verify_password("$argon2id$é", PASSWORD) == (False, False)


MEMORY_SCRIPT = """
import sys, threading
from idp.directory import argon2_native, passwords
hasher = argon2_native.NativeHasher(argon2_native.load(), **passwords.PARAMETERS)
encoded = hasher.hash("Sakura-Blossom-2026")
def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
before = rss_mb()
outcomes = []
def check():
    for _ in range(3):
        outcomes.append(hasher.verify(encoded, "Sakura-Blossom-2026"))
        outcomes.append(hasher.hash("Another-Password-2026").startswith("$argon2id$"))
threads = [threading.Thread(target=check) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(rss_mb() - before, outcomes.count(True))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_threads_share_one_memory_area(lib):
    """Four threads hashing at once hold one 19 MiB area between them (third_party/argon2/area.c), not one
    per thread's malloc arena: the process grows by one area, and every hash and check still comes out right."""
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True, text=True, timeout=120,
                         check=True).stdout.split()
    growth_mb, correct = float(out[0]), int(out[1])
    assert correct == 24
    area_mb = passwords.PARAMETERS["memory_cost"] / 1024
    assert growth_mb < area_mb + 6, f"grew by {growth_mb:.0f} MB for a {area_mb:.0f} MB area"
