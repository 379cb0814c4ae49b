"""segcheck.parsers"""
