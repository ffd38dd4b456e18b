"""Signing-key rotation as an admin action (the console's セキュリティ page and `idp keys rotate`)."""
from idp import keys
from idp.logs.audit import NO_CLIENT, record_audit


def rotate_keys(tenant, *, now, actor, client=NO_CLIENT, prepublish=None):
    """New keys for both algorithms (they sign after the pre-publication delay), and the audit event."""
    rows = keys.rotate(tenant, now, prepublish=prepublish)
    record_audit(tenant_id=tenant.id, actor=actor, action="keys.rotate", target=tenant, now=now, client=client,
                 changes={"new_kids": [r.kid for r in rows], "activates_at": rows[0].activates_at.isoformat()})
    return rows
