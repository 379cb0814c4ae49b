"""segcheck.capture"""
