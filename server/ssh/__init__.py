"""The console over SSH (`upmetr ssh-serve`): `server.py` is the asyncssh server, its
connections, limits and sessions; `gate.py` is its side of the database (a key's account, the
API session each SSH session signs in with, audit); `terminal.py` runs the console in a
pseudo-terminal; `commands.py` runs one `upmetr` command for an exec request; `host_key.py`
makes and keeps the host key."""
