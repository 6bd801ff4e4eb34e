"""sample draw verification: the last re-run of the draw, kept so that its page need not redo it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sample_draw") as batch:
        batch.add_column(sa.Column("verification", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sample_draw") as batch:
        batch.drop_column("verification")
