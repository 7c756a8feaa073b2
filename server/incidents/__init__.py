"""Incidents: opened by triggers (a monitor down, a budget exceeded) or by hand, then
acknowledged and resolved, with a timeline of who did what and when."""
