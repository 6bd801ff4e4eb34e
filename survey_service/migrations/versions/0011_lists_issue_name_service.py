"""lists: a rejected row keeps its name (encrypted and masked) and its service

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("list_row_issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("name_masked", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("service", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("list_row_issue", schema=None) as batch_op:
        batch_op.drop_column("service")
        batch_op.drop_column("name_masked")
        batch_op.drop_column("name")
