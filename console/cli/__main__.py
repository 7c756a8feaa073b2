"""`python -m console.cli ...` runs the `upmetr` command line."""

from console.entry import main

main()
