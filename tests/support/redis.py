"""A throwaway Redis server for tests, on 127.0.0.1 only (Debian's /usr/bin/redis-server).

No persistence, no config file; its data folder is a temporary directory
removed on stop. `require_redis_server()` skips a test when the binary is
missing, or fails it when IDP_TEST_REQUIRE_REDIS=1 (CI, where Redis is installed).
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT = 10


def find_redis_server():
    if os.path.exists(REDIS_SERVER):
        return REDIS_SERVER
    return shutil.which("redis-server")


def require_redis_server():
    """The redis-server binary, or skip (fail under IDP_TEST_REQUIRE_REDIS=1) when it is not installed."""
    binary = find_redis_server()
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("IDP_TEST_REQUIRE_REDIS") == "1":
            pytest.fail(message + " and IDP_TEST_REQUIRE_REDIS=1")
        pytest.skip(message)
    return binary


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers_ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, binary=None):
        self.binary = binary or find_redis_server()
        if self.binary is None:
            raise RuntimeError("redis-server not found (apt-get install redis-server)")
        self.root = tempfile.mkdtemp(prefix="idp-redis-")
        self.port = None
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.port = _free_port()
        self._log = open(os.path.join(self.root, "log"), "wb")
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.root,
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.process.poll() is not None:
                break
            if _answers_ping(self.port):
                return self.url
            time.sleep(0.05)
        self.stop(keep_files=True)
        with open(os.path.join(self.root, "log"), errors="replace") as fh:
            output = fh.read()[-2000:]
        shutil.rmtree(self.root, ignore_errors=True)
        raise RuntimeError(f"redis-server did not start on 127.0.0.1:{self.port}:\n{output}")

    def stop(self, keep_files=False):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if not keep_files:
            shutil.rmtree(self.root, ignore_errors=True)
