"""Tenants (companies): creation with the default group, owner and first admin, self-service
sign-up, the end of a contract (termination, purge, restore) and the demo tenant of `make run`."""
