"""segcheck.report"""
