"""Login IDs unique per tenant, not IdP-wide

An address may be an account in several tenants (issue 14): the IdP-wide unique constraint on
accounts.email_normalized gives way to a unique (tenant_id, email_normalized) index, and a plain index
on the address serves /login and /password/forgot, which look in every tenant. Existing rows were
unique IdP-wide, so they are unique per tenant: nothing changes for them.

Revision ID: 0004_login_ids_per_tenant
Revises: 0003_config_cache
Create Date: 2026-12-04 21:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004_login_ids_per_tenant'
down_revision = '0003_config_cache'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_tenant_email')
        batch_op.create_index('ix_accounts_tenant_email', ['tenant_id', 'email_normalized'], unique=True)
        batch_op.create_index('ix_accounts_email', ['email_normalized'], unique=False)
        batch_op.drop_constraint(op.f('uq_accounts_email_normalized'), type_='unique')


def downgrade():
    # fails (as it must) once an address has an account in two tenants
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f('uq_accounts_email_normalized'), ['email_normalized'])
        batch_op.drop_index('ix_accounts_email')
        batch_op.drop_index('ix_accounts_tenant_email')
        batch_op.create_index('ix_accounts_tenant_email', ['tenant_id', 'email_normalized'], unique=False)
