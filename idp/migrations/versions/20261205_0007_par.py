"""Pushed Authorization Requests (RFC 9126): pushed requests and "PAR required" per client

`oidc_clients.require_pushed_authorization_requests` (false for every existing client: nothing changes
for them) and the table of pushed authorization requests: the SHA-256 of the `request_uri` handed out,
the client, the request's parameters (JSON), when it expires and when it was used (once).

Revision ID: 0007_par
Revises: 0006_dpop
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_par'
down_revision = '0006_dpop'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_pushed_authorization_requests', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table('oidc_pushed_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('client_pk', sa.Integer(), nullable=False),
    sa.Column('request_uri_hash', sa.String(length=64), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_pk'], ['oidc_clients.id'],
                            name=op.f('fk_oidc_pushed_requests_client_pk_oidc_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_oidc_pushed_requests_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_pushed_requests')),
    sa.UniqueConstraint('request_uri_hash', name=op.f('uq_oidc_pushed_requests_request_uri_hash'))
    )
    with op.batch_alter_table('oidc_pushed_requests', schema=None) as batch_op:
        batch_op.create_index('ix_oidc_pushed_requests_expires', ['tenant_id', 'expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('oidc_pushed_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_oidc_pushed_requests_expires')
    op.drop_table('oidc_pushed_requests')
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('require_pushed_authorization_requests')
