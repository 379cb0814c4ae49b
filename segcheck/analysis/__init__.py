"""segcheck.analysis"""
