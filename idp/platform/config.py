"""Configuration from environment variables, with safe defaults.

Every setting is documented in README.md (Configuration). `load_config` reads
the environment once; `create_app(config)` lets tests override any key.
"""
import ipaddress
import logging
import os
import secrets
import stat
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_PRODUCT_NAME = "まとめログイン"

# Rate limits (idp/platform/ratelimit.py documents them): setting name -> default, in the `limits` notation.
RATELIMIT_DEFAULTS = {
    "IDP_RATELIMIT_LOGIN_IP": "300/5minute;3000/hour",
    "IDP_RATELIMIT_LOGIN_ACCOUNT": "10/minute;60/hour",
    "IDP_RATELIMIT_RESET_REQUEST_IP": "60/5minute;600/hour",
    "IDP_RATELIMIT_RESET_REQUEST_ACCOUNT": "3/15minute;10/day",
    "IDP_RATELIMIT_LINK_IP": "300/5minute;3000/hour",
    "IDP_RATELIMIT_LINK_ACCOUNT": "20/5minute;60/hour",
    "IDP_RATELIMIT_CODE_IP": "300/5minute;3000/hour",
    "IDP_RATELIMIT_CODE_ACCOUNT": "5/minute;30/hour",
    "IDP_RATELIMIT_SIGNUP_IP": "20/hour;100/day",
    "IDP_RATELIMIT_SIGNUP_ACCOUNT": "3/hour;10/day",
    "IDP_RATELIMIT_INQUIRY_IP": "10/hour;50/day",
    "IDP_RATELIMIT_INQUIRY_ACCOUNT": "3/hour;10/day",
}


log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """The configuration cannot be used; the app refuses to start."""


OFF_VALUES = ("0", "false", "no", "off")
ON_VALUES = ("1", "true", "yes", "on")


def parse_flag(name, value):
    """True/False, or the usual spellings of on and off (ConfigError otherwise)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ON_VALUES:
        return True
    if text in OFF_VALUES:
        return False
    raise ConfigError(f"{name} must be one of {'/'.join(ON_VALUES + OFF_VALUES)}, got {value!r}")


def load_config(environ=None):
    env = os.environ if environ is None else environ
    instance_dir = os.path.abspath(env.get("IDP_INSTANCE_DIR") or os.path.join(os.getcwd(), "instance"))
    return {
        "IDP_BASE_URL": env.get("IDP_BASE_URL", DEFAULT_BASE_URL).rstrip("/"),
        "IDP_INSTANCE_DIR": instance_dir,
        "IDP_DATABASE_URL": env.get("IDP_DATABASE_URL") or None,
        "IDP_SECRET_KEY": env.get("IDP_SECRET_KEY") or None,
        "IDP_MAIL_TRANSPORT": env.get("IDP_MAIL_TRANSPORT", "outbox"),
        "IDP_MAIL_FROM": env.get("IDP_MAIL_FROM") or "",  # empty: default_mail_from(IDP_BASE_URL)
        "IDP_MAIL_ASYNC": env.get("IDP_MAIL_ASYNC") or "1",
        "IDP_KEY_ENCRYPTION_KEY": env.get("IDP_KEY_ENCRYPTION_KEY") or None,
        "IDP_KEY_PREPUBLISH_SECONDS": int(env.get("IDP_KEY_PREPUBLISH_SECONDS") or 86400),
        "IDP_KEY_RETENTION_SECONDS": int(env.get("IDP_KEY_RETENTION_SECONDS") or 172800),
        "IDP_HELP_URL": env.get("IDP_HELP_URL") or "",  # empty: the built-in help page (admin_ui/help)
        "IDP_SUPPORT_EMAIL": env.get("IDP_SUPPORT_EMAIL") or "",  # the inquiry form of the help page mails it
        "IDP_PRODUCT_NAME": env.get("IDP_PRODUCT_NAME", DEFAULT_PRODUCT_NAME),
        "IDP_TENANT_RETENTION_DAYS": int(env.get("IDP_TENANT_RETENTION_DAYS") or 30),
        "IDP_SIGNUP": (env.get("IDP_SIGNUP") or "open").strip().lower(),
        "IDP_TERMS_URL": env.get("IDP_TERMS_URL", "https://example.com/terms"),
        "IDP_OWNER_OIDC_ISSUER": env.get("IDP_OWNER_OIDC_ISSUER") or "",
        "IDP_OWNER_OIDC_CLIENT_ID": env.get("IDP_OWNER_OIDC_CLIENT_ID") or "",
        "IDP_OWNER_OIDC_CLIENT_SECRET": env.get("IDP_OWNER_OIDC_CLIENT_SECRET") or "",
        "IDP_OWNER_LOCAL_LOGIN": env.get("IDP_OWNER_LOCAL_LOGIN") or "auto",
        "IDP_RATELIMIT_ENABLED": env.get("IDP_RATELIMIT_ENABLED") or "1",
        "IDP_RATELIMIT_STORAGE": env.get("IDP_RATELIMIT_STORAGE") or "memory://",
        "IDP_OIDC_BACKCHANNEL_ALLOW_PRIVATE": env.get("IDP_OIDC_BACKCHANNEL_ALLOW_PRIVATE") or "auto",
        "IDP_TRUSTED_PROXIES": env.get("IDP_TRUSTED_PROXIES") or "",  # idp/platform/proxies.py
        # SMS (idp/platform/sms.py, docs/mfa.md): no URL -> files in {instance}/sms/
        "IDP_SMS_URL": env.get("IDP_SMS_URL") or "",
        "IDP_SMS_USER": env.get("IDP_SMS_USER") or "",
        "IDP_SMS_PASSWORD": env.get("IDP_SMS_PASSWORD") or "",
        "IDP_SMS_FROM": env.get("IDP_SMS_FROM") or "",
        **{name: env.get(name) or default for name, default in RATELIMIT_DEFAULTS.items()},
    }


def is_loopback_host(host):
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_mail_from(base_url):
    """The sender when IDP_MAIL_FROM is not set: no-reply@<host of the base URL> (localhost on loopback;
    an IP address as an address literal)."""
    host = urlsplit(base_url).hostname or ""
    if not host or is_loopback_host(host):
        return "no-reply@localhost"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"no-reply@{host}"
    return f"no-reply@[{'IPv6:' if address.version == 6 else ''}{address}]"


def check_base_url(base_url):
    """The service is https-only; plain http is allowed on loopback for development.

    Returns True when the base URL is https (HSTS and Secure cookies apply).
    """
    parts = urlsplit(base_url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return False
    raise ConfigError(
        f"IDP_BASE_URL must be an https:// URL (plain http only on loopback), got {base_url!r}"
    )


def ensure_secret_file(path, nbytes=32):
    """Return the secret stored at `path`, creating it atomically on first use.

    Several gunicorn workers may start at once: each writes its candidate to a
    private temporary file and links it into place; link() fails for all but
    the first, and everyone then reads the winner's value. The file is 0600 (an
    existing one with looser permissions is made so).
    """
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(nbytes))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    make_private(path)
    with open(path) as fh:
        return fh.read().strip()


PRIVATE = 0o077  # the group and other permission bits: none on the instance folder and its files


def make_private(path):
    """Take the group's and others' permissions off `path` (a secret file 0644 becomes 0600, a folder
    0755 becomes 0700); nothing when it is missing or already private. True when it is private.

    A file the process does not own (it cannot chmod it) is left as it is, with a warning.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    if mode & PRIVATE:
        try:
            os.chmod(path, mode & ~PRIVATE)
        except PermissionError:
            log.warning("cannot make %s private (mode %o): not its owner", path, mode)
            return False
    return True


def private_folder(path):
    """Create the folder `path` (and its parents) as 0700, or make an existing one private."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    make_private(path)


def default_database_url(instance_dir):
    return "sqlite:///" + os.path.join(instance_dir, "idp.sqlite3")
