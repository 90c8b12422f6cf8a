"""The engine layer: one replication of a scenario, on SimPy, with its seeds and monitors.

Pure: `engine.model.simulate(scenario, seed)` touches no file, clock or global.
model runs the replication; people draws who arrives and their fates; streams
holds each stream's running state; calendar is the one user of SimPy internals.
"""
