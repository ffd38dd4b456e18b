"""Helpers of the MFA tests: policy set-up, reading the pages, the SMS outbox."""
import glob
import os
import re

from idp.authn.mfa import policy as mfa_policy
from idp.authn.mfa.totp import code_at
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants

SECRET_RE = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
RECOVERY_RE = re.compile(r"<li><code>([a-z0-9-]{14})</code></li>")
SMS_CODE_RE = re.compile(r"認証コード：(\d{6}) ")


def set_mode(app, clock, mode, slug="acme", group=None):
    from idp.directory import groups
    with app.app_context():
        tenant = tenants.get_by_slug(slug)
        group_row = groups.get_by_name(tenant, group) if group else None
        mfa_policy.set_policy(tenant, mode, group=group_row, now=clock.now(), actor=OPERATOR)
        db.session.commit()


def secret_on(html):
    match = SECRET_RE.search(html)
    assert match, "the enrolment page shows no secret"
    return match.group(1)


def totp(secret, clock, offset_seconds=0):
    from datetime import timedelta
    return code_at(secret, clock.now() + timedelta(seconds=offset_seconds))


def recovery_codes_on(html):
    return RECOVERY_RE.findall(html)


class SmsOutbox:
    """The SMS the app wrote to {instance}/sms, oldest first: (to, body)."""

    def __init__(self, directory):
        self.directory = directory

    def messages(self):
        result = []
        for path in sorted(glob.glob(os.path.join(self.directory, "*.txt"))):
            with open(path, encoding="utf-8") as fh:
                head, _, body = fh.read().partition("\n\n")
            result.append((head.removeprefix("To: "), body.rstrip("\n")))
        return result

    def last_code(self):
        messages = self.messages()
        assert messages, "no SMS was sent"
        match = SMS_CODE_RE.search(messages[-1][1])
        assert match, messages[-1][1]
        return match.group(1)


def post_form(client, url, data=None):
    """GET a page, then POST `data` to it with the page's CSRF token (like a browser)."""
    from conftest import csrf_token_from
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return client.post(url, data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), **(data or {})})
