"""The execution layer: replications on an executor (this process, local workers, Dask),
with checkpoints, retries, workload limits and the model's invariants.
"""
