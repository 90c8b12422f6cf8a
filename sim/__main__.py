"""`python -m sim` is the same as `capsim`."""

from sim.cli import program

program()
