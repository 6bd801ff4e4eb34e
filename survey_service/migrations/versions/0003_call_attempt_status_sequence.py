"""call_attempt.status_sequence: the last status-callback sequence number seen

Status callbacks can arrive out of order and more than once; a callback
numbered no higher than the last one recorded changes nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_sequence", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_column("status_sequence")
