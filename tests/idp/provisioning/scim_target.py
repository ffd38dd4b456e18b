"""A real SCIM 2.0 server on loopback for the push tests: scim2-server's WSGI app (in-memory storage, a
bearer token) under werkzeug's make_server on a thread. Every request it receives is recorded (method,
path, JSON body); `stop()` and `start()` take it down and up again on the same port."""
import io
import json
import socket
import threading
import urllib.request
from urllib.parse import unquote

from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.utils import load_default_provider
from werkzeug.serving import make_server

TOKEN = "scim-test-token-123"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ScimTarget:
    def __init__(self, token=TOKEN):
        self.token = token
        self.app = BearerTokenApplication(InMemoryStorage(), load_default_provider(), bearer_tokens=[token])
        self.port = free_port()
        self.requests = []  # (method, path with query, body dict or None, status)
        self._server = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/v2"

    def _recording(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        query = environ.get("QUERY_STRING")
        path = unquote(environ.get("PATH_INFO", "")) + ("?" + unquote(query) if query else "")
        if environ.get("HTTP_X_TEST_UNRECORDED"):
            return self.app(environ, start_response)
        record = [environ["REQUEST_METHOD"], path, json.loads(raw) if raw else None, None]
        self.requests.append(record)

        def recording_start(status, headers, exc_info=None):
            record[3] = int(status.split()[0])
            return start_response(status, headers, exc_info)
        return self.app(environ, recording_start)

    def start(self):
        self._server = make_server("127.0.0.1", self.port, self._recording, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def writes(self):
        """The requests that changed something: (method, path without /v2, body)."""
        return [(method, path.removeprefix("/v2"), body) for method, path, body, _ in self.requests
                if method in ("POST", "PUT", "PATCH", "DELETE")]

    def users(self):
        """{userName: user JSON} as the server lists them (GET /Users, not recorded)."""
        request = urllib.request.Request(f"{self.base_url}/Users?count=1000",
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "X-Test-Unrecorded": "1"})
        with urllib.request.urlopen(request, timeout=5) as response:
            listed = json.loads(response.read())
        return {user["userName"]: user for user in listed.get("Resources", [])}

    def add_user(self, user_name, **values):
        """A user made on the app's side (not by us)."""
        body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
                           **values}).encode()
        request = urllib.request.Request(f"{self.base_url}/Users", data=body, method="POST", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json",
            "X-Test-Unrecorded": "1"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
