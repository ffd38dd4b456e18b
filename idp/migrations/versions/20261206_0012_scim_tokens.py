"""scim_tokens: bearer tokens of a tenant's SCIM endpoint

(filled in by the SCIM server work, issue 18)

Revision ID: 0012_scim_tokens
Revises: 0011_passkeys
Create Date: 2026-12-05 13:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0012_scim_tokens'
down_revision = '0011_passkeys'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
