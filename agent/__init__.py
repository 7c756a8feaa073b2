"""The infra agent that runs on monitored hosts and reports to the server.

Not built yet: it arrives with the infra agents feature.
"""
