"""`python -m sim` is the same as `capsim`."""

from .cli import main

main()
