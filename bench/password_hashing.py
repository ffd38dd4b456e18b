"""argon2id cost per password check (a script, not a test): `.venv/bin/python bench/password_hashing.py [-n 30]`.

One verification at the app's parameters (idp.directory.passwords.PARAMETERS) for each backend that
this machine has: argon2-cffi (the PyPI wheel's portable build) and, when the install built it, each
variant of the native library this CPU runs (idp.directory.argon2_native: SSE2, SSSE3, AVX2, AVX-512F
on x86-64), the one the app picks marked. Best and median of --rounds rounds of -n verifications, in ms.
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT  # the checkout, not bench/

from argon2 import PasswordHasher  # noqa: E402

from idp.directory import argon2_native, passwords  # noqa: E402

PASSWORD = "Sakura-Blossom-2026"


def per_verification_ms(hasher, encoded, count, rounds):
    """[ms per verification] of each round of `count` verifications."""
    hasher.verify(encoded, PASSWORD)  # warm-up: first touch of the 19 MiB
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            hasher.verify(encoded, PASSWORD)
        times.append((time.perf_counter() - start) / count * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="verifications per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    reference = PasswordHasher(**passwords.PARAMETERS)
    encoded = reference.hash(PASSWORD)
    print(f"argon2id {encoded.split('$')[3]}; the app runs: {passwords.backend()}")
    backends = [("argon2-cffi (portable wheel)", reference, None)]
    lib = argon2_native.load()
    if lib is None:
        print("native library: not built (no C compiler at install time?)")
    else:
        chosen = lib.variant().decode()
        native = argon2_native.NativeHasher(lib, **passwords.PARAMETERS)
        backends += [(f"native {name}" + (" (chosen)" if name == chosen else ""), native, level)
                     for level, name in lib.variants()]
    for label, hasher, level in backends:
        if level is not None:
            lib.select(level)
        times = per_verification_ms(hasher, encoded, args.n, args.rounds)
        print(f"{label:<32} best {min(times):6.2f} ms   median {statistics.median(times):6.2f} ms")
    if lib is not None:
        lib.select(-1)


if __name__ == "__main__":
    main()
