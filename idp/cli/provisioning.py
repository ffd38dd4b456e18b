"""`idp provisioning …` (filled in by issue 18 work)."""
from flask.cli import AppGroup

provisioning_cli = AppGroup("provisioning", help="Pushing account changes to apps over SCIM (docs/provisioning.md).")
