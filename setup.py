"""Build the compiled kernels of cnncore.

Compiler directives are set here, once, for every extension.  Set
``CNNCORE_DEBUG=1`` in the environment to build with bounds checking,
wraparound and initialisation checks on (for tests and debugging); set
``CNNCORE_OPENMP=0`` to build without OpenMP (the kernels then run serially).
"""
import os
import sys
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


def compiler_has_openmp(compiler):
    """Compile and link a tiny OpenMP program; True when it works."""
    code = textwrap.dedent(
        """
        #include <omp.h>
        int main(void) { int n = 0;
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
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=["-fopenmp"])
            compiler.link_executable(objs, os.path.join(tmp, "check_openmp"),
                                     extra_postargs=["-fopenmp"])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    """build_ext that adds OpenMP flags when the compiler supports them."""

    def build_extensions(self):
        use_openmp = WANT_OPENMP and sys.platform != "win32" and compiler_has_openmp(self.compiler)
        for ext in self.extensions:
            if use_openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
            if DEBUG:
                ext.extra_compile_args += ["-O1", "-g"]
            else:
                ext.extra_compile_args += ["-O3"]
            # the micro-kernels' `acc += b * w` must become fused multiply-adds
            ext.extra_compile_args.append("-ffp-contract=fast")
        print(f"cnncore: building with OpenMP={'on' if use_openmp else 'off'}, debug={DEBUG}")
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
