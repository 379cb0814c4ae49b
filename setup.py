"""Optional native accelerators, compiled when a C compiler is available.

Metadata lives in pyproject.toml; this file only declares the C extensions. Each one is
``optional``: without a compiler (or on a platform where it fails to build) ``pip install``
still succeeds and segcheck runs its pure-Python paths, which compute the same results
(tests compare both).
"""

import sys

from setuptools import Extension, setup

NATIVE = {
    "segcheck.engine._mddc": "segcheck/engine/_mddc.c",  # decision-diagram kernel (#3)
    "segcheck.capture._pcapc": "segcheck/capture/_pcapc.c",  # capture record walk (#6)
}

setup(
    ext_modules=[
        Extension(name, [src], optional=True,
                  extra_compile_args=[] if sys.platform == "win32" else ["-O2"])
        for name, src in NATIVE.items()
    ]
)
