"""The vendor-independent model: pure values, no I/O.

Everything analysis sees is built from these types; vendor quirks die in the parsers'
conversion step (STYLE.md habit 1).
"""
