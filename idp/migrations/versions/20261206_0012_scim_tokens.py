"""scim_tokens: bearer tokens of a tenant's SCIM endpoint, and scim_external_ids

The SCIM 2.0 server (issue 18, docs/provisioning.md): a tenant's tokens (keyed digest only) and the
externalId a SCIM client gave a user or group.

Revision ID: 0012_scim_tokens
Revises: 0011_passkeys
Create Date: 2026-12-05 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_scim_tokens'
down_revision = '0011_passkeys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scim_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scim_tokens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_scim_tokens_token_hash'))
    )
    with op.batch_alter_table('scim_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_scim_tokens_tenant_created', ['tenant_id', 'created_at'], unique=False)

    op.create_table('scim_external_ids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('resource_type', sa.String(length=10), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_scim_external_ids_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scim_external_ids')),
    sa.UniqueConstraint('tenant_id', 'resource_type', 'resource_id', name='uq_scim_external_ids_resource')
    )
    with op.batch_alter_table('scim_external_ids', schema=None) as batch_op:
        batch_op.create_index('ix_scim_external_ids_value', ['tenant_id', 'resource_type', 'external_id'], unique=False)


def downgrade():
    op.drop_table('scim_external_ids')
    op.drop_table('scim_tokens')
