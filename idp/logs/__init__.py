"""Logs: audit events (who did what to which object) and login events, the admin's log views and
CSV exports, and the purge after 730 days."""
