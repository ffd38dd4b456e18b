"""saml_service_providers: add slo_binding

How our LogoutRequests and LogoutResponses reach the SP's SLO URL: redirect (HTTP-Redirect, what every
existing SP keeps) or post (HTTP-POST, for SPs whose metadata offers only that).

Revision ID: 0008_saml_slo_binding
Revises: 0007_par
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_saml_slo_binding'
down_revision = '0007_par'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('saml_service_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slo_binding', sa.String(length=10), server_default='redirect',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('saml_service_providers', schema=None) as batch_op:
        batch_op.drop_column('slo_binding')
