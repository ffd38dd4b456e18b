"""`idp scim …` (filled in by issue 18 work)."""
from flask.cli import AppGroup

scim_cli = AppGroup("scim", help="SCIM 2.0: the bearer tokens of a tenant's SCIM endpoint (docs/provisioning.md).")
