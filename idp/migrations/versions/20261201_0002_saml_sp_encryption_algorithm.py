"""saml_service_providers: add encryption_algorithm

The assertion's content encryption per SP: aes256-gcm (the default, and what every existing SP keeps)
or aes256-cbc for SPs that only accept CBC (ADFS, older Shibboleth).

Revision ID: 0002_saml_encryption
Revises: 0001
Create Date: 2026-12-01 23:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_saml_encryption'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('saml_service_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('encryption_algorithm', sa.String(length=20), server_default='aes256-gcm',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('saml_service_providers', schema=None) as batch_op:
        batch_op.drop_column('encryption_algorithm')
