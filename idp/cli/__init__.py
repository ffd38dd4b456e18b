"""Operator CLI: `idp` (a Flask CLI group). Every command has `--json`.

With --json, stdout carries exactly one JSON object; logs go to stderr. Bad
input prints one error line and exits non-zero, and nothing is half-created:
each command runs in one transaction (idp.cli.output). One module per command group.
"""
import logging
import sys

from flask.cli import FlaskGroup

from idp.cli.db import db_cli  # Flask-Migrate's `idp db` group, with `backup` added by this import
from idp.platform import log_redaction


def init_app(app):
    # every process that builds the app: `idp run` / `flask run` (werkzeug's request log), the workers of
    # `idp serve` (granian) and gunicorn's, also without idp/web/gunicorn_conf.py: no link token or ID
    # token hint in those logs
    log_redaction.install(app.name)  # app.name: Flask's logger, without creating it (and its handler)
    from idp.cli import (accounts, apps, catalog, demo, groups, keys, logs, mail, mfa, provisioning, scim, serve,
                         tenants)
    for command in (tenants.tenant_cli, accounts.account_cli, groups.group_cli, apps.app_cli, mfa.mfa_cli,
                    demo.demo, logs.logs_cli, keys.keys_cli, mail.mail_cli, serve.serve, catalog.catalog_cli,
                    scim.scim_cli, provisioning.provisioning_cli):
        app.cli.add_command(command)
    app.cli.add_command(db_cli)


def _create_app():
    from idp import create_app
    return create_app({"IDP_MAIL_ASYNC": False})  # a short-lived process: send before exiting


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    cli = FlaskGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                     help="Operator commands of the identity provider.")
    cli.main(prog_name="idp")
