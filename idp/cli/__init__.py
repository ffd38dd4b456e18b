"""Operator CLI: `idp` (a Flask CLI group). Every command has `--json`.

With --json, stdout carries exactly one JSON object; logs go to stderr. Bad
input prints one error line and exits non-zero, and nothing is half-created:
each command runs in one transaction (idp.cli.output). One module per command group.
"""
import logging
import sys

from flask.cli import FlaskGroup


def init_app(app):
    from idp.cli import (accounts, apps, catalog, demo, groups, keys, logs, mail, mfa, provisioning, scim, serve,
                         tenants)
    from idp.cli.db import db_cli  # Flask-Migrate's `idp db` group, with `backup` added by this import
    for command in (tenants.tenant_cli, accounts.account_cli, groups.group_cli, apps.app_cli, mfa.mfa_cli,
                    demo.demo, logs.logs_cli, keys.keys_cli, mail.mail_cli, serve.serve, catalog.catalog_cli,
                    scim.scim_cli, provisioning.provisioning_cli):
        app.cli.add_command(command)
    app.cli.add_command(db_cli)


def _create_app():
    from idp import create_app
    return create_app({"IDP_MAIL_ASYNC": False})  # a short-lived process: send before exiting


def main():
    # before the group resolves `db` (Flask-Migrate's, from its entry point): this import adds `backup`
    import idp.cli.db  # noqa: F401
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    cli = FlaskGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                     help="Operator commands of the identity provider.")
    cli.main(prog_name="idp")
