"""Background schedulers: they decide when; the domains decide what (ARCHITECTURE.md).

loop.py is the shape every engine shares. checks.py runs uptime checks; check_writer.py
writes their results in batches; rollup.py finalizes rollups and prunes old data.
job_engine.py claims and runs queued jobs under a lease, for discovery.py (cloud resource
discovery) and cost_sync.py (cloud costs); resource_actions.py carries out resource starts,
stops and reboots. metrics.py serves the engines' figures at GET /metrics. roles.py says
which engines a process runs (`upmetr serve --role`); wakeups.py carries wake-ups between
the API process and the worker over datagram sockets.
"""
