"""Background schedulers (checks, discovery, cost sync, alerts, dispatch, rollup).

None exists yet: the first arrives with uptime monitors.
"""
