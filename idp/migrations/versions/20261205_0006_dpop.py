"""DPoP (RFC 9449): per-client "DPoP required", the key a token is bound to, used proof jtis

`oidc_clients.require_dpop` (false for every existing client: nothing changes for them),
`oidc_tokens.dpop_jkt` (the RFC 7638 thumbprint of the key an access token, or a public client's
refresh token, is bound to; NULL for bearer tokens) and the table of DPoP proof `jti`s already used in
a tenant, unique per (tenant, jti) so a replay is refused by every instance.

Revision ID: 0006_dpop
Revises: 0005_outbox
Create Date: 2026-12-05 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_dpop'
down_revision = '0005_outbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_dpop', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('oidc_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=43), nullable=True))
    op.create_table('oidc_used_dpop_proofs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('jti_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_oidc_used_dpop_proofs_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_used_dpop_proofs')),
    sa.UniqueConstraint('tenant_id', 'jti_hash', name='uq_oidc_used_dpop_proof')
    )
    with op.batch_alter_table('oidc_used_dpop_proofs', schema=None) as batch_op:
        batch_op.create_index('ix_oidc_used_dpop_proofs_expires', ['tenant_id', 'expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('oidc_used_dpop_proofs', schema=None) as batch_op:
        batch_op.drop_index('ix_oidc_used_dpop_proofs_expires')
    op.drop_table('oidc_used_dpop_proofs')
    with op.batch_alter_table('oidc_tokens', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('require_dpop')
