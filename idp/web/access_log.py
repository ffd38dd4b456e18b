"""The access log of `idp serve`: one line per request on stderr, redacted, written by a WSGI wrapper.

    127.0.0.1 - - [2026-12-05 01:22:01 +0000] "GET /cb?code=[redacted]&state=s HTTP/1.1" 302 "-" "curl/8" 1.4ms

The same line as granian's access log with idp/cli/serve.py's format (which this replaces), for about a
tenth of its CPU: granian builds a dict of every field, goes through `logging` (a record, two filters,
the handler's lock, a formatter) and flushes for each request; this formats one string, redacts the
request target and the Referer (idp.platform.log_redaction, the rules every log line follows) and
writes the line with one `write(2)` on the process's stderr (a line shorter than PIPE_BUF reaches a
pipe whole, even when the workers share it). With IDP_LOG_FORMAT=json the request's JSON line
(idp.web.request_log) is the access line and this wrapper is not installed.

A response whose length is known (Content-Length, as for every page and JSON answer the app makes) is
handed to the server as one bytes object, which granian sends with one call instead of iterating the
body in Python; a streamed one (no Content-Length, e.g. a large CSV download) stays streamed.
"""
import os
import time

from idp.platform.log_redaction import redact

STDERR = 2


class AccessLog:
    """WSGI middleware: `app.wsgi_app = AccessLog(app.wsgi_app)`."""

    def __init__(self, wsgi_app, fd=STDERR):
        self.wsgi_app, self.fd = wsgi_app, fd
        self._second, self._stamp = None, ""

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        # read before the app runs: a trusted proxy's X-Forwarded-For rewrites REMOTE_ADDR in place
        request = (environ.get("REMOTE_ADDR") or "-", environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""),
                   environ.get("QUERY_STRING", ""), environ.get("SERVER_PROTOCOL", ""),
                   environ.get("HTTP_REFERER") or "-", environ.get("HTTP_USER_AGENT") or "-")
        answer = {}

        def start(status, headers, exc_info=None):
            answer["status"] = status
            answer["sized"] = any(name.lower() == "content-length" for name, _value in headers)
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, start)
            if answer.get("sized") and not isinstance(body, list):
                body = _joined(body)
        except BaseException:
            self._write(request, "500", started)
            raise
        self._write(request, answer.get("status", "500").split(" ", 1)[0], started)
        return body

    def _write(self, request, status, started):
        addr, method, path, query, protocol, referer, agent = request
        target = redact(f"{path}?{query}" if query else path)
        if referer != "-":
            referer = redact(referer)
        line = (f'{addr} - - [{self._now()}] "{method} {_quoted(target)} {protocol}" {status} "{_quoted(referer)}" '
                f'"{_quoted(agent)}" {(time.perf_counter() - started) * 1000:.1f}ms\n')
        try:
            os.write(self.fd, line.encode("utf-8", "replace"))
        except OSError:  # stderr closed or full: the request still gets its answer
            pass

    def _now(self):
        second = int(time.time())
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(second))
        return self._stamp


def _joined(body):
    """The body as a one-item list; the iterable is closed (WSGI: its close() ends the request's work)."""
    try:
        return [b"".join(body)]
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _quoted(value):
    """A header value inside the line's quotes: no quote, backslash or control character can forge a line."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return value
    return "".join(ch if ch.isprintable() and ch not in '"\\' else f"\\x{ord(ch):02x}" for ch in value)
