"""segcheck.policy"""
