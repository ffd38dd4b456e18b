"""oidc_cache_versions → config_cache_versions

The table versions every cached piece of a tenant's configuration (tenant, apps, groups, OIDC clients,
SAML SPs, MFA policy, signing keys), not only OIDC's: renamed with its constraints, rows kept.

Revision ID: 0003_config_cache
Revises: 0002_saml_encryption
Create Date: 2026-12-04 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_config_cache'
down_revision = '0002_saml_encryption'
branch_labels = None
depends_on = None


def _move(old, new):
    op.create_table(new,
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f(f'fk_{new}_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f(f'pk_{new}'))
    )
    op.execute(f"INSERT INTO {new} (tenant_id, version) SELECT tenant_id, version FROM {old}")
    op.drop_table(old)


def upgrade():
    _move('oidc_cache_versions', 'config_cache_versions')


def downgrade():
    _move('config_cache_versions', 'oidc_cache_versions')
