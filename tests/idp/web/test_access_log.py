"""The access line of `idp serve` (idp.web.access_log): what an operator reads on stderr."""
import os
import re

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from idp.web.access_log import AccessLog

LINE = re.compile(r'^(\S+) - - \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] "(.*)" (\d{3}) "(.*)" "(.*)" (\d+\.\d)ms$')


def _served(app, path="/", **environ):
    """(status, body, the line written) for one request through the wrapper."""
    read_end, write_end = os.pipe()
    try:
        builder = EnvironBuilder(path=path, environ_base={"REMOTE_ADDR": "192.0.2.7", **environ})
        started = {}

        def start_response(status, headers, exc_info=None):
            started.update(status=status, headers=headers)
        body = AccessLog(app, fd=write_end)(builder.get_environ(), start_response)
        os.close(write_end)
        write_end = None
        with os.fdopen(read_end, "rb") as reader:
            read_end = None
            written = reader.read().decode()
        return started["status"], body, written
    finally:
        for fd in (read_end, write_end):
            if fd is not None:
                os.close(fd)


def test_one_line_per_request_with_the_secrets_redacted():
    app = Response("moved", status=302, headers={"Location": "https://rp.example.com/cb"})
    status, body, written = _served(app, "/cb?code=abc123&state=s1", HTTP_REFERER="https://idp/activate/tok-123",
                                    HTTP_USER_AGENT="curl/8.0")
    assert status.startswith("302") and b"".join(body) == b"moved"
    assert written.endswith("\n") and written.count("\n") == 1
    addr, request, code, referer, agent, _ms = LINE.match(written.rstrip("\n")).groups()
    assert (addr, request, code, agent) == ("192.0.2.7", "GET /cb?code=[redacted]&state=s1 HTTP/1.1", "302", "curl/8.0")
    assert referer == "https://idp/activate/[redacted]" and "abc123" not in written and "tok-123" not in written


def test_a_control_character_or_quote_cannot_forge_a_line():
    _status, _body, written = _served(Response("x"), "/a\nb", HTTP_USER_AGENT='evil" 200 "\r\nfake')
    assert written.count("\n") == 1 and "\\x0a" in written and '\\x22 200 \\x22\\x0d\\x0afake' in written


def test_a_sized_body_goes_to_the_server_in_one_piece_a_streamed_one_stays_streamed():
    closed = []

    def streamed(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        return iter([b"a,b\n", b"1,2\n"])

    def sized(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])

        class Body:
            def __iter__(self):
                return iter([b"ab", b"cd"])

            def close(self):
                closed.append(True)
        return Body()
    assert _served(sized)[1] == [b"abcd"] and closed == [True]
    body = _served(streamed)[1]
    assert not isinstance(body, list) and b"".join(body) == b"a,b\n1,2\n"


def test_an_exception_is_logged_as_500_and_raised():
    def broken(environ, start_response):
        raise RuntimeError("boom")
    read_end, write_end = os.pipe()
    environ = EnvironBuilder(path="/x", environ_base={"REMOTE_ADDR": "192.0.2.7"}).get_environ()
    with pytest.raises(RuntimeError):
        AccessLog(broken, fd=write_end)(environ, lambda *args: None)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert LINE.match(reader.read().decode().rstrip("\n")).group(3) == "500"
