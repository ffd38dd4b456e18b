"""provisioning: apps' SCIM targets and the queue of changes to push

The SCIM client (issue 18, docs/provisioning.md): per app the SCIM server's URL and (encrypted) token,
the queue of account changes to push, and the ids the apps' servers gave our accounts.

Revision ID: 0013_provisioning
Revises: 0012_scim_tokens
Create Date: 2026-12-05 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_provisioning'
down_revision = '0012_scim_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provisioning_targets',
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('base_url', sa.String(length=2000), nullable=False),
    sa.Column('token', sa.Text(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('deprovision', sa.String(length=10), nullable=False),
    sa.Column('last_sync_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_provisioning_targets_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_provisioning_targets_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('app_id', name=op.f('pk_provisioning_targets'))
    )
    with op.batch_alter_table('provisioning_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provisioning_targets_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('provisioning_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('operation', sa.String(length=12), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_provisioning_changes_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_provisioning_changes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioning_changes'))
    )
    with op.batch_alter_table('provisioning_changes', schema=None) as batch_op:
        batch_op.create_index('ix_provisioning_changes_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_provisioning_changes_order', ['app_id', 'subject', 'sequence'], unique=False)
        batch_op.create_index('ix_provisioning_changes_app_state', ['app_id', 'state'], unique=False)

    op.create_table('provisioning_remote_ids',
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('remote_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_provisioning_remote_ids_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_provisioning_remote_ids_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('app_id', 'subject', name=op.f('pk_provisioning_remote_ids'))
    )


def downgrade():
    op.drop_table('provisioning_remote_ids')
    op.drop_table('provisioning_changes')
    with op.batch_alter_table('provisioning_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provisioning_targets_tenant_id'))
    op.drop_table('provisioning_targets')
