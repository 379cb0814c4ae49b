"""segcheck — verify IT/OT network segmentation against an IEC 62443 zone/conduit policy.

The package is a library first; ``segcheck.cli`` is a thin shell over it.
"""

__version__ = "0.1.0"
