"""A throwaway PostgreSQL server for the test session, on 127.0.0.1 only.

Uses Debian's server binaries (initdb/pg_ctl). initdb refuses to run as root,
so as root the cluster is created and run as the `postgres` system user.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def find_bindir():
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    path = shutil.which("initdb")
    return os.path.dirname(path) if path else None


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.bindir = find_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.root = tempfile.mkdtemp(prefix="idp-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args):
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", self.datadir, "-U", "idp", "--auth=trust", "-E", "UTF8", "--no-sync")
        for attempt in range(3):  # another process (an xdist worker's server) may take the port first
            opts = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} " \
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                self._run("pg_ctl", "-D", self.datadir, "-o", opts, "-l", os.path.join(self.root, "log"), "-w",
                          "start")
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
                self.port = _free_port()
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "idp", "idp_test")
        return f"postgresql+psycopg2://idp@127.0.0.1:{self.port}/idp_test"

    def stop(self):
        try:
            self._run("pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
