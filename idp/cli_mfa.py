"""Operator commands: `idp mfa set` (commands on idp.cli.mfa_cli)."""
