"""Provisioning: the SCIM endpoint's tokens and pushing account changes to apps over SCIM (docs/provisioning.md)."""
