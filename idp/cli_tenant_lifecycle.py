"""Operator commands: `idp tenant purge|restore` (commands on idp.cli.tenant_cli)."""
