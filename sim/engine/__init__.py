"""The engine layer: one replication of a scenario, on SimPy, with its seeds and monitors.

Pure: `engine.model.simulate(scenario, seed)` touches no file, clock or global.
"""
