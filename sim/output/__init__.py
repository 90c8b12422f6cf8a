"""The output layer: results folders written atomically (run, compare, sweep, size)
and the regression check of a folder against a baseline.
"""
