"""The terminal side of Upmetr: the Textual console and the `upmetr` command line.

app.py is the console (one App, a mode per main view), with its views in screens/, its
widgets in widgets/ and its `:` commands in commands.py; cli/ holds the command line, for
server administration and for scripts (`--json`). connection.py reaches a remote server over
SSH, local_server.py runs one in this process (`upmetr up`), entry.py is the `upmetr` entry
point.
"""
