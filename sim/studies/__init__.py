"""The planner's studies built on runs: compare policies, sweep parameters, size
the beds, choose a warm-up. Each returns objects; the output layer writes them.
"""
