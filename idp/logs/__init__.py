"""Logs: audit events (who did what to which object) and login events, the admin's log views and
CSV exports, and the purge after 730 days. What the pages show for the stored codes is in `labels`;
`changes` puts an audit event's changes in words (`前 → 後`, names instead of ids)."""
