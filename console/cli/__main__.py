"""`python -m console.cli ...` runs the `upmetr` command line."""

from console.cli import main

main()
