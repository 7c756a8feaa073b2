"""The infra agent that runs on monitored hosts and reports to the server (`upmetr-agent`).

It imports nothing heavy at run time (no pydantic, no httpx, nothing from server, console or
shared): its budget is ~25 MB of RSS, and `import httpx` alone takes a Python process to
~30 MB (measured; see docs/agents.md, "Footprint"). HTTP goes through the standard library.
"""

# The distribution's version (pyproject.toml); a test keeps the two equal. Not read from
# importlib.metadata at run time: importing it costs the agent ~5 MB of RSS.
__version__ = "0.1.0"
