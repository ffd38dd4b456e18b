"""apps: add preset and preset_inputs

The catalog preset an app was added from (idp/catalog/presets/<id>.toml) and the admin's inputs as JSON,
so the app page can show the preset's setup steps; NULL for apps registered by hand.

Revision ID: 0009_app_preset
Revises: 0008_saml_slo_binding
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_app_preset'
down_revision = '0008_saml_slo_binding'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preset', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('preset_inputs', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('preset_inputs')
        batch_op.drop_column('preset')
