"""Background schedulers: they decide when; the domains decide what (ARCHITECTURE.md).

checks.py runs uptime checks; check_writer.py writes their results in batches;
rollup.py finalizes rollups and prunes old data.
"""
