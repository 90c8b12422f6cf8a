"""capsim's benchmark: one reference loss system in four implementations, side by side.

    python -m benchmarks           # the full run: table, scaling and memory rows, verdict (exit 1 on a miss)
    python -m benchmarks --quick   # a smoke run: fewer arrivals, agreement with Erlang B only

Modules: `reference` (the model, Erlang B and the batch means), one module per
implementation (`heapq_engine`, `simpy_idiomatic`, `ciw_engine`,
`capsim_engine`), `run` (the harness) and `child` (a capsim run in a fresh
process that reports its peak memory).
"""
