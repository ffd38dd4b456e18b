"""The deployment of docs/deploy.md on loopback ports, for tests/e2e/test_topology.py and bench/soak.py.

PostgreSQL and Redis (tests/support/postgres.py, redis.py), the schema by `idp db upgrade`, N instances
started by the ExecStart line of deploy/systemd/matome-idp@.service (%i = the instance's port) with the
settings of deploy/env.example (its values replaced: ports, secrets, the database), and nginx running
deploy/nginx/matome-idp.conf with its ports, host name and a self-signed certificate substituted. Every
substitution must match, so a change to the shipped files that the test no longer covers fails it.

`pin=True` (the test only) adds to the generated nginx site an upstream per instance chosen by the
`X-Test-Instance: N` request header, so a test can send a request to one instance through nginx.
`Browser` is a client of that nginx: TLS checked against the test certificate, optionally from another
loopback source address (127.0.0.2, …), which nginx passes on as the client address.
"""
import datetime
import ipaddress
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests
from requests.adapters import HTTPAdapter

from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(REPO, "deploy")
IDP = os.path.join(os.path.dirname(sys.executable), "idp")
PIN_HEADER = "X-Test-Instance"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
START_TIMEOUT = 30


def find_nginx():
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_certificate(folder):
    """(certificate, key) PEM files for 127.0.0.1 and localhost, made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as fh:
        fh.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return cert_path, key_path


def substitute(text, old, new, count=None):
    """`text` with `old` (a regex) replaced; AssertionError when the shipped file no longer has it."""
    result, made = re.subn(old, new, text, flags=re.MULTILINE)
    assert made and (count is None or made == count), f"deploy file changed: {old!r} matched {made} times"
    return result


def environment_file(values, path):
    """deploy/env.example with `values` in place of its own (every key of it kept, extra keys added);
    written to `path` as systemd reads it, and returned as a dict."""
    env = {}
    with open(os.path.join(DEPLOY, "env.example"), encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                env[key] = value
    missing = {"IDP_BASE_URL", "IDP_DATABASE_URL", "IDP_RATELIMIT_STORAGE", "IDP_TRUSTED_PROXIES"} - set(env)
    assert not missing, f"deploy/env.example lost {missing}"
    env.update(values)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(f"{key}={value}\n" for key, value in env.items())
    return env


def exec_start(port, workers):
    """The unit's ExecStart for instance `port`: our `idp`, `%i` replaced, the worker count ours."""
    with open(os.path.join(DEPLOY, "systemd", "matome-idp@.service"), encoding="utf-8") as fh:
        line = next(line for line in fh if line.startswith("ExecStart="))
    words = shlex.split(line[len("ExecStart="):].replace("%i", str(port)))
    assert words[0].endswith("/idp") and words[1:3] == ["serve", "--bind"], words
    words[0] = IDP
    if "--workers" in words:
        words[words.index("--workers") + 1] = str(workers)
    return words


def nginx_site(ports, listen, redirect, cert, key, pin):
    """deploy/nginx/matome-idp.conf for these instance ports, listening on 127.0.0.1:`listen` (TLS)."""
    with open(os.path.join(DEPLOY, "nginx", "matome-idp.conf"), encoding="utf-8") as fh:
        text = fh.read()
    servers = re.findall(r"^ *server 127\.0\.0\.1:\d+ (.*);$", text, flags=re.MULTILINE)
    assert len(servers) >= 2, "the upstream lists two instances or more"
    lines = "".join(f"    server 127.0.0.1:{port} {servers[0]};\n" for port in ports)
    text = substitute(text, r"^ *server 127\.0\.0\.1:\d+ .*;\n(?: *server 127\.0\.0\.1:\d+ .*;\n)*", lines, 1)
    text = substitute(text, r"^ *listen \[::\]:.*\n", "")  # no IPv6 needed on loopback
    text = substitute(text, r"listen 80;", f"listen 127.0.0.1:{redirect};", 1)
    text = substitute(text, r"listen 443 ssl", f"listen 127.0.0.1:{listen} ssl", 1)
    text = substitute(text, r"server_name idp\.example\.com;", "server_name 127.0.0.1;")
    text = substitute(text, r"ssl_certificate +/etc/\S+;", f"ssl_certificate {cert};", 1)
    text = substitute(text, r"ssl_certificate_key +/etc/\S+;", f"ssl_certificate_key {key};", 1)
    if pin:
        choices = "".join(f"    {i} idp_instance_{i};\n" for i in range(len(ports)))
        pinned = "".join(f"upstream idp_instance_{i} {{ server 127.0.0.1:{port}; }}\n"
                         for i, port in enumerate(ports))
        text = substitute(text, r"proxy_pass http://matome_idp;(\n    }\n}\n?)\Z", r"proxy_pass http://$idp_pinned;\1")
        text = f"map $http_x_test_instance $idp_pinned {{\n    default matome_idp;\n{choices}}}\n{pinned}{text}"
    return text


def nginx_main(root, site):
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(f"    {kind}_temp_path {root}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}pid {root}/nginx.pid;\nerror_log {root}/nginx-error.log warn;\nworker_processes 1;\n"
            f"events {{ worker_connections 1024; }}\nhttp {{\n    access_log {root}/nginx-access.log;\n{temp}"
            f"    include {site};\n}}\n")


class Instance:
    """One `idp serve` as its systemd unit starts it; its stdout and stderr in {root}/instance-PORT.log."""

    def __init__(self, port, env, root, workers):
        self.port, self.env, self.workers = port, env, workers
        self.log_path = os.path.join(root, f"instance-{port}.log")
        self.process = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(exec_start(self.port, self.workers), env=self.env, cwd=self.env[
                "IDP_INSTANCE_DIR"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def ready(self):
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self):
        """SIGKILL the main process (its workers follow it: idp serve's PR_SET_PDEATHSIG)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()


class Topology:
    def __init__(self, root, instances=2, workers=1, env=None, pin=False):
        self.root, self.pin, self.workers = root, pin, workers
        self.extra_env = dict(env or {})
        self.ports = [free_port() for _ in range(instances)]
        self.nginx_port, self.redirect_port = free_port(), free_port()
        self.postgres = self.redis = self.nginx = None
        self.instances = []

    @property
    def url(self):
        return f"https://127.0.0.1:{self.nginx_port}"

    def start(self):
        self.postgres = PostgresServer()
        database_url = self.postgres.start()
        self.redis = RedisServer()
        self.redis.start()
        self.cert, key = self_signed_certificate(self.root)
        instance_dir = os.path.join(self.root, "instance")
        os.makedirs(instance_dir, mode=0o700, exist_ok=True)
        self.env = {**os.environ, **environment_file({
            "IDP_BASE_URL": self.url, "IDP_DATABASE_URL": database_url, "IDP_RATELIMIT_STORAGE": self.redis.url,
            "IDP_INSTANCE_DIR": instance_dir, "IDP_SECRET_KEY": "topology-secret",
            "IDP_KEY_ENCRYPTION_KEY": "topology-key-encryption-key", "IDP_LOG_FORMAT": "text",
            **self.extra_env}, os.path.join(self.root, "env"))}
        subprocess.run([IDP, "db", "upgrade"], env=self.env, check=True, capture_output=True, timeout=120)
        self.instances = [Instance(port, self.env, self.root, self.workers) for port in self.ports]
        for instance in self.instances:
            instance.start()
        self._start_nginx(key)
        self.wait_ready(*range(len(self.instances)))
        return self

    def _start_nginx(self, key):
        site = os.path.join(self.root, "matome-idp.conf")
        with open(site, "w") as fh:
            fh.write(nginx_site(self.ports, self.nginx_port, self.redirect_port, self.cert, key, self.pin))
        main = os.path.join(self.root, "nginx.conf")
        with open(main, "w") as fh:
            fh.write(nginx_main(self.root, site))
        self.nginx = subprocess.Popen([find_nginx(), "-p", self.root, "-c", main, "-e", "stderr",
                                       "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(self.root, "nginx-stderr.log"), "wb"))

    def wait_ready(self, *indexes, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        for index in indexes:
            instance = self.instances[index]
            while not instance.ready():
                if instance.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"instance on {instance.port} did not get ready:\n{self.log_tail(index)}")
                time.sleep(0.1)

    def log_tail(self, index, size=3000):
        with open(self.instances[index].log_path, errors="replace") as fh:
            return fh.read()[-size:]

    def idp(self, *args):
        """An `idp` command with the instances' settings (as an operator runs it on the server)."""
        return subprocess.run([IDP, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def app(self):
        """The app in this process, on the same database and secrets (to seed rows through the services)."""
        from idp import create_app
        from idp.platform.config import load_config
        return create_app({**load_config(self.env), "IDP_MAIL_ASYNC": False})

    def restart_postgres(self, while_down=None):
        """Stop PostgreSQL (fast shutdown: sessions cut), call `while_down()`, start it again on its port."""
        pg = self.postgres
        pg._run("pg_ctl", "-D", pg.datadir, "-m", "fast", "-w", "stop")
        try:
            return while_down() if while_down else None
        finally:
            opts = f"-c listen_addresses=127.0.0.1 -c port={pg.port} -c unix_socket_directories={pg.root} " \
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            pg._run("pg_ctl", "-D", pg.datadir, "-o", opts, "-l", os.path.join(pg.root, "log"), "-w", "start")

    def stop(self):
        for instance in self.instances:
            instance.stop()
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
        for server in (self.redis, self.postgres):
            if server is not None:
                server.stop()


class _SourceAddress(HTTPAdapter):
    def __init__(self, source):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.source, 0), **kwargs)


class Browser(requests.Session):
    """A browser of the topology through nginx: relative URLs, no redirect followed unless asked, TLS checked;
    `source` is its own address (nginx sees it as the client), `instance` pins every request to one."""

    def __init__(self, topology, source="127.0.0.2", instance=None):
        super().__init__()
        self.base, self.verify, self.instance = topology.url, topology.cert, instance
        self.trust_env = False  # REQUESTS_CA_BUNDLE or an HTTP proxy of the environment would take over
        self.mount("https://", _SourceAddress(source))

    def request(self, method, url, *args, instance=None, **kwargs):
        pin = self.instance if instance is None else instance
        url = url if "://" in url else self.base + url
        headers = {"Referer": url, **(kwargs.pop("headers", None) or {})}  # Flask-WTF checks it under https
        if pin is not None:
            headers[PIN_HEADER] = str(pin)
        kwargs["allow_redirects"] = False  # Session.get asks for True; a test looks at every redirect itself
        kwargs.setdefault("timeout", 30)
        return super().request(method, url, *args, headers=headers, **kwargs)

    def login(self, email, password, path="/login", next_url="/", instance=None, headers=None):
        """GET the login page, POST the credentials (on `instance`, or where nginx sends them)."""
        page = self.get(path, instance=instance)
        token = CSRF_RE.search(page.text).group(1)
        return self.post(path, data={"csrf_token": token, "email": email, "password": password, "next": next_url},
                         instance=instance, headers=headers)


def seed(app, users, password):
    """Tenant `acme` (admin@acme.example.com), users user0…, an OIDC client and a SAML SP, through the
    services; -> {"client_id", "client_secret", "redirect_uri", "sp_entity", "acs_url"}."""
    from idp.directory import accounts, groups
    from idp.logs.audit import OPERATOR
    from idp.oidc import clients as oidc_clients
    from idp.platform.clock import utcnow
    from idp.platform.extensions import db
    from idp.saml import registry as saml_registry
    from idp.tenancy import tenants
    seeded = {"redirect_uri": "https://rp.example.com/cb", "sp_entity": "https://sp.example.com/metadata",
              "acs_url": "https://sp.example.com/acs"}
    with app.app_context():
        now = utcnow()
        tenant = tenants.create_tenant(slug="acme", company_name="ACME株式会社", owner_email="owner@acme.example.com",
                                       admin_email="admin@acme.example.com", admin_password=password,
                                       now=now, actor=OPERATOR).tenant
        for i in range(users):
            accounts.create_account(tenant, accounts.NewAccount(email=f"user{i}@acme.example.com", name=f"利用者 {i}"),
                                    password=password, now=now, actor=OPERATOR)
        everyone = [groups.default_group(tenant)]
        created = oidc_clients.register(tenant, oidc_clients.ClientSettings(
            name="経費精算", redirect_uris=[seeded["redirect_uri"]]), now=now, actor=OPERATOR, groups=everyone)
        saml_registry.register(tenant, saml_registry.SpSettings(
            name="勤怠", entity_id=seeded["sp_entity"], acs_urls=[seeded["acs_url"]], sign="both"),
            now=now, actor=OPERATOR, groups=everyone)
        db.session.commit()
        seeded.update(client_id=created.client.client_id, client_secret=created.client_secret)
        db.session.remove()
        db.engine.dispose()
    return seeded
