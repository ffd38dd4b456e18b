"""Operator commands: `idp app add-oidc` (commands on idp.cli.app_cli)."""
