"""HTTP to an app's SCIM 2.0 server (RFC 7644) through the SSRF guard (idp.platform.outbound).

`ScimClient` speaks the few requests pushing needs: find a user by a filter (§3.4.2.2), create (§3.3),
replace (PUT, §3.5.1), deactivate (PATCH replace `active`, §3.5.2), delete (§3.6) and list every user page
by page (§3.4.2.4). A non-2xx answer raises ScimError carrying the server's own `detail` (what the console
shows as the SaaS's error); NotFound and Conflict are the two the callers recover from.
"""
import json
from urllib.parse import quote

from idp.platform import outbound

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CONTENT_TYPE = "application/scim+json"
TIMEOUT = 10  # seconds for one exchange
MAX_BYTES = 2 * 1024 * 1024
PAGE = 100
MAX_PAGES = 1000  # a full listing stops there (100 000 users)
DETAIL_LENGTH = 200


class ScimError(Exception):
    """The server answered with an error status; the message is what it said (its `detail`)."""

    def __init__(self, status, detail):
        super().__init__(f"HTTP {status}: {detail}" if detail else f"HTTP {status}")
        self.status = status


class NotFound(ScimError):
    """404: the resource is not (or no longer) there."""


class Conflict(ScimError):
    """409: a unique value (userName) is taken."""


def _detail(body):
    try:
        data = json.loads(body)
        detail = data.get("detail") or data.get("scimType") or ""
    except (ValueError, AttributeError):
        detail = body.decode("utf-8", "replace")
    return " ".join(str(detail).split())[:DETAIL_LENGTH]


def filter_eq(attribute, value):
    """`attribute eq "value"` with the value as a JSON string (quotes and backslashes escaped, §3.4.2.2)."""
    return f"{attribute} eq {json.dumps(value, ensure_ascii=False)}"


class ScimClient:
    def __init__(self, base_url, token, *, allow_private, timeout=TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.allow_private = allow_private
        self.timeout = timeout

    def _call(self, method, path, body=None):
        headers = {"Accept": CONTENT_TYPE, "Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = CONTENT_TYPE
        reply = outbound.request(method, self.base_url + path, allow_private=self.allow_private,
                                 timeout=self.timeout, max_bytes=MAX_BYTES, body=data, headers=headers)
        if 200 <= reply.status < 300:
            return json.loads(reply.body) if reply.body.strip() else None
        error = {404: NotFound, 409: Conflict}.get(reply.status, ScimError)
        raise error(reply.status, _detail(reply.body))

    def find_user(self, attribute, value):
        """The first user whose `attribute` equals `value` (a dict), or None."""
        found = self._call("GET", f"/Users?filter={quote(filter_eq(attribute, value))}&count=1")
        resources = (found or {}).get("Resources") or []
        return resources[0] if resources else None

    def create_user(self, resource):
        return self._call("POST", "/Users", resource)

    def replace_user(self, remote_id, resource):
        return self._call("PUT", f"/Users/{quote(remote_id, safe='')}", resource)

    def deactivate_user(self, remote_id):
        return self._call("PATCH", f"/Users/{quote(remote_id, safe='')}", {
            "schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]})

    def delete_user(self, remote_id):
        self._call("DELETE", f"/Users/{quote(remote_id, safe='')}")

    def all_users(self):
        """Every user of the server, page by page (startIndex/count)."""
        start = 1
        for _ in range(MAX_PAGES):
            page = self._call("GET", f"/Users?startIndex={start}&count={PAGE}") or {}
            resources = page.get("Resources") or []
            yield from resources
            start += len(resources)
            if not resources or start > int(page.get("totalResults") or 0):
                return
