"""provisioning: apps' SCIM targets and the queue of changes to push

(filled in by the SCIM client work, issue 18)

Revision ID: 0013_provisioning
Revises: 0012_scim_tokens
Create Date: 2026-12-05 14:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0013_provisioning'
down_revision = '0012_scim_tokens'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
