"""Operator commands: `idp app add-saml` (commands on idp.cli.app_cli)."""
