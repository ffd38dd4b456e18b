"""saml_service_providers: add metadata_url

Where the SP publishes its SAML metadata, so the console and `idp app refresh-metadata` can read it again
(idp.saml.metadata_fetch); "" for every existing SP (none was registered by URL).

Revision ID: 0010_sp_metadata_url
Revises: 0009_app_preset
Create Date: 2026-12-05 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_sp_metadata_url'
down_revision = '0009_app_preset'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('saml_service_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('metadata_url', sa.String(length=2000), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('saml_service_providers', schema=None) as batch_op:
        batch_op.drop_column('metadata_url')
