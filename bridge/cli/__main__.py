"""`python -m bridge.cli`: the same command as `bridge`."""

from bridge.cli import main

main()
