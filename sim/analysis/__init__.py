"""The analysis layer: numbers from replications (summaries, intervals, precision)
and from queueing theory (the analytic oracle). Runs nothing.
"""
