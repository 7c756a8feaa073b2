"""The terminal side of Upmetr: the `upmetr` command line now, the Textual console later."""
