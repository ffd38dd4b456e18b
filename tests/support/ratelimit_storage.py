"""Rate-limit storage for tests that must hold both ways: answering, and unreachable (Redis down)."""
import socket

STORAGE_STATES = ["storage answering", "storage unreachable"]


def storage_overrides(request):
    """{} for "storage answering"; for "storage unreachable", IDP_RATELIMIT_STORAGE on a loopback port that is
    bound but never listens (every connection refused) until the test ends. `request.param` is one of
    STORAGE_STATES (a fixture with `params=STORAGE_STATES`)."""
    if request.param != "storage unreachable":
        return {}
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    request.addfinalizer(closed.close)
    return {"IDP_RATELIMIT_STORAGE": f"redis://127.0.0.1:{closed.getsockname()[1]}/0"}
