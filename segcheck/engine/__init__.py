"""segcheck.engine"""
