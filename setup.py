"""The build of the native argon2 library; the package's metadata is in setup.cfg.

`idp.directory._argon2` is phc-winner-argon2 (third_party/argon2/) as a plain shared library that
idp/directory/argon2_native.py loads with ctypes: no Python C-API, so no Python headers are needed,
only a C compiler. It is optional: without a compiler the install still succeeds (setuptools prints a
warning) and passwords are hashed by argon2-cffi's portable wheel, about twice the CPU per login.

On x86-64 with GCC or Clang, the inner loop (opt.c) is compiled once per instruction set (SSE2, SSSE3,
AVX2, AVX-512F) and third_party/argon2/dispatch.c picks the best one the CPU runs when the library is
loaded: no -march=native, so a venv or an image built on one CPU runs on any other. Elsewhere the
portable ref.c is used. Everything at -O3.
"""
import os
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ARGON2 = os.path.join("third_party", "argon2")
SOURCES = [os.path.join(ARGON2, "src", name) for name in ("argon2.c", "core.c", "encoding.c", "thread.c")] + [
    os.path.join(ARGON2, "src", "blake2", "blake2b.c"), os.path.join(ARGON2, "dispatch.c"),
    os.path.join(ARGON2, "area.c")]
INCLUDE_DIRS = [os.path.join(ARGON2, "include"), os.path.join(ARGON2, "src")]
# (name in dispatch.c, compiler flag) of each compilation of opt.c on x86-64
X86_VARIANTS = [("sse2", "-msse2"), ("ssse3", "-mssse3"), ("avx2", "-mavx2"), ("avx512f", "-mavx512f")]
# GCC and Clang (upstream's Makefile has the same -std); only the public API is exported
CFLAGS = ["-O3", "-std=c89", "-fvisibility=hidden", "-pthread"]


def _x86_64():
    return sysconfig.get_platform().rsplit("-", 1)[-1].lower() in ("x86_64", "amd64")


class BuildArgon2(build_ext):
    """opt.c once per instruction set (own flags, own object folder), linked with the rest."""

    def build_extension(self, ext):
        if ext.name == "idp.directory._argon2":
            unix = self.compiler.compiler_type == "unix"
            ext.extra_compile_args, ext.extra_link_args = (CFLAGS, ["-pthread"]) if unix else (["/O2"], [])
            ext.define_macros = [("A2_VISCTL", "1")]
            if unix and _x86_64():
                ext.sources = SOURCES
                ext.define_macros.append(("IDP_ARGON2_DISPATCH", "1"))
                ext.extra_objects = [obj for name, flag in X86_VARIANTS for obj in self.compiler.compile(
                    [os.path.join(ARGON2, "src", "opt.c")], output_dir=os.path.join(self.build_temp, name),
                    macros=[("fill_segment", f"idp_fill_segment_{name}"), ("A2_VISCTL", "1")],
                    include_dirs=INCLUDE_DIRS, extra_postargs=CFLAGS + [flag], debug=self.debug)]
            else:
                ext.sources = SOURCES + [os.path.join(ARGON2, "src", "ref.c")]
        super().build_extension(ext)

    def get_export_symbols(self, ext):
        return []  # not a Python module: no PyInit_ function to export (only used on Windows)


setup(
    ext_modules=[Extension(
        "idp.directory._argon2", sources=SOURCES, include_dirs=INCLUDE_DIRS, optional=True)],
    cmdclass={"build_ext": BuildArgon2},
)
