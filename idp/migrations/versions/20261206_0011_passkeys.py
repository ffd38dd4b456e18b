"""passkeys: WebAuthn credentials and challenges

(filled in by the passkeys work, issue 19)

Revision ID: 0011_passkeys
Revises: 0010_sp_metadata_url
Create Date: 2026-12-05 12:00:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision = '0011_passkeys'
down_revision = '0010_sp_metadata_url'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
