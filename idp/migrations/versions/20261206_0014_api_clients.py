"""oidc_clients: API clients of the admin REST API

(filled in by the admin API work, issue 18)

Revision ID: 0014_api_clients
Revises: 0013_provisioning
Create Date: 2026-12-05 15:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0014_api_clients'
down_revision = '0013_provisioning'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
