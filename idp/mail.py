"""Outgoing mail: rendered from templates, sent after the database commit.

Transports: `outbox` writes each message as an .eml file to {instance}/outbox/
(the embedded default), `smtp://[user:pass@]host:port[?starttls=1]` and
`smtps://…` send for real. Messages queued inside a transaction are sent only
if it commits, so a rolled-back change never mails a dead link.
"""
import logging
import os
import secrets
import smtplib
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_QUEUE_KEY = "idp_outgoing_mail"


class OutboxTransport:
    def __init__(self, directory):
        self.directory = directory

    def send(self, message):
        os.makedirs(self.directory, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(4)}.eml"
        path = os.path.join(self.directory, name)
        with open(path, "wb") as fh:
            fh.write(message.as_bytes())
        return path


class SmtpTransport:
    def __init__(self, url, timeout=10):
        parts = urlsplit(url)
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.timeout = timeout

    def send(self, message):
        cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        with cls(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def transport_from_config(config):
    spec = config["IDP_MAIL_TRANSPORT"]
    if spec == "outbox":
        return OutboxTransport(os.path.join(config["IDP_INSTANCE_DIR"], "outbox"))
    if spec.startswith(("smtp://", "smtps://")):
        return SmtpTransport(spec)
    raise ValueError(f"IDP_MAIL_TRANSPORT must be 'outbox' or an smtp:// URL, got {spec!r}")


def build_message(to, template, **context):
    """Render mail/{template}.txt; its first line is 'Subject: …'."""
    product = current_app.config["IDP_PRODUCT_NAME"]
    text = current_app.jinja_env.get_template(f"mail/{template}.txt").render(product=product, **context)
    first, _, body = text.partition("\n")
    message = EmailMessage()
    message["Subject"] = first.removeprefix("Subject:").strip()
    message["From"] = current_app.config["IDP_MAIL_FROM"]
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="idp.local")
    message.set_content(body.lstrip("\n"), charset="utf-8")
    return message


def send_after_commit(session, message):
    """Queue a message on the database session; it goes out when the session commits."""
    session.info.setdefault(_QUEUE_KEY, []).append((current_app._get_current_object(), message))


def deliver(app, message):
    try:
        app.extensions["idp_mail"].send(message)
    except Exception:  # a mail server outage must never break the request
        log.exception("mail delivery failed (subject=%r)", message["Subject"])
        return False
    return True


@event.listens_for(Session, "after_commit")
def _send_queued(session):
    for app, message in session.info.pop(_QUEUE_KEY, []):
        deliver(app, message)


@event.listens_for(Session, "after_rollback")
def _drop_queued(session):
    session.info.pop(_QUEUE_KEY, None)
