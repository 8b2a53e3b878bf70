"""Build the compiled kernels of cnncore.

Compiler directives are set here, once, for every extension; the C flags
depend on the compiler (GCC, Clang, Apple Clang or MSVC, see compiler_flags).
Set ``CNNCORE_DEBUG=1`` in the environment to build with bounds checking,
wraparound and initialisation checks on and, with GCC or Clang, with
AddressSanitizer and UndefinedBehaviorSanitizer (for tests and debugging: the
ASan runtime must then be preloaded, see README.md, Development); set
``CNNCORE_OPENMP=0`` to build without OpenMP (the kernels then run serially).
"""
import os
import subprocess
import tempfile
import textwrap

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("CNNCORE_DEBUG", "0") not in ("", "0")
WANT_OPENMP = os.environ.get("CNNCORE_OPENMP", "1") not in ("", "0")

MODULES = ["_conv", "_pool", "_batchnorm", "_elementwise"]

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}


SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=undefined"]

# (compile, link) flags that turn OpenMP on, per compiler.  Apple Clang has no
# -fopenmp of its own: its preprocessor takes the flag and libomp (Homebrew's,
# found through CPPFLAGS and LDFLAGS) is linked by name; without it the check
# below fails and the build is serial.
OPENMP_FLAGS = {
    "gcc": (["-fopenmp"], ["-fopenmp"]),
    "clang": (["-fopenmp"], ["-fopenmp"]),     # Debian: needs libomp-dev
    "apple-clang": (["-Xpreprocessor", "-fopenmp"], ["-lomp"]),
    "msvc": (["/openmp"], []),
}


def compiler_kind(compiler):
    """'gcc', 'clang', 'apple-clang' or 'msvc' (any other compiler is taken for GCC)."""
    if compiler.compiler_type == "msvc":
        return "msvc"
    try:
        version = subprocess.run(compiler.compiler_so + ["--version"], capture_output=True,
                                 text=True).stdout
    except OSError:
        return "gcc"
    if "clang" in version:
        return "apple-clang" if "Apple" in version else "clang"
    return "gcc"


def compiler_flags(kind, debug):
    """(compile, link) flags for a compiler kind, OpenMP apart.

    MSVC has no vector extensions: _direct.h then compiles no micro-kernel
    and every float32 convolution takes the im2col + BLAS path.
    """
    if kind == "msvc":
        return (["/Od", "/Zi"] if debug else ["/O2"]), []
    # the micro-kernels' `acc += b * w` must become fused multiply-adds
    compile_args = ["-ffp-contract=fast"]
    if debug:
        return compile_args + ["-O1", "-g"] + SANITIZE, list(SANITIZE)
    return compile_args + ["-O3"], []


def compiler_has_openmp(compiler, compile_args, link_args):
    """Compile and link a tiny OpenMP library with these flags, as the extensions are
    (with CFLAGS, CPPFLAGS and LDFLAGS); True when it works."""
    code = textwrap.dedent(
        """
        #include <omp.h>
        int check_openmp(void) { int n = 0;
        #pragma omp parallel reduction(+:n)
          n += 1;
          return omp_get_max_threads() > 0 && n > 0 ? 0 : 1; }
        """
    )
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "check_openmp.c")
        with open(src, "w") as f:
            f.write(code)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=compile_args)
            compiler.link_shared_object(objs, os.path.join(tmp, "check_openmp.so"),
                                        extra_postargs=link_args)
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    """build_ext with the flags of the compiler in use, and OpenMP when it works."""

    def build_extensions(self):
        kind = compiler_kind(self.compiler)
        compile_args, link_args = compiler_flags(kind, DEBUG)
        omp_compile, omp_link = OPENMP_FLAGS[kind]
        use_openmp = WANT_OPENMP and compiler_has_openmp(self.compiler, omp_compile, omp_link)
        if use_openmp:
            compile_args, link_args = compile_args + omp_compile, link_args + omp_link
        for ext in self.extensions:
            ext.extra_compile_args += compile_args
            ext.extra_link_args += link_args
        print(f"cnncore: building with {kind}, OpenMP={'on' if use_openmp else 'off'}, "
              f"debug={DEBUG}")
        super().build_extensions()


extensions = [
    Extension(
        f"cnncore.{name}",
        [f"cnncore/{name}.pyx"],
        depends=["cnncore/_direct.h", "cnncore/_ukernel.h", "cnncore/_bn_kernels.h"],
        include_dirs=[numpy.get_include(), "cnncore"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
    )
    for name in MODULES
]

setup(
    # generated C lives under build/, apart for the two builds, never beside the .pyx
    ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES,
                          build_dir="build/cython-debug" if DEBUG else "build/cython"),
    cmdclass={"build_ext": BuildExt},
)
