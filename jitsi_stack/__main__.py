"""`python -m jitsi_stack` is the `jitsi-stack` command."""

from .cli import main

main()
