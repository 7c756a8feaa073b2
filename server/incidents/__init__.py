"""Incidents: opened by triggers (monitors, budgets, agents...) or by hand, then
acknowledged and resolved, with a timeline of who did what and when."""
