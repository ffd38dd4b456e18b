"""oidc_clients: API clients of the admin REST API

`oidc_clients.api_client`: the client may be issued the scopes `admin:read` / `admin:write` by the
client_credentials grant, whose tokens the admin REST API (/t/<tenant>/api/v1, docs/api.md) accepts.
False for every existing client: nothing changes for them.

Revision ID: 0014_api_clients
Revises: 0013_provisioning
Create Date: 2026-12-05 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_api_clients'
down_revision = '0013_provisioning'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_client', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('api_client')
