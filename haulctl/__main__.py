"""`python -m haulctl` is the `haul` client."""

from haulctl.cli import main

main()
