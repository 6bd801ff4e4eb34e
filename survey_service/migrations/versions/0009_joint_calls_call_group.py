"""joint calls: a number sampled for several units is called once, one attempt per case

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_group", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_call_attempt_call_group"), ["call_group"])
        batch_op.create_foreign_key(
            "fk_call_attempt_call_group", "call_attempt", ["call_group"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_constraint("fk_call_attempt_call_group", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_call_attempt_call_group"))
        batch_op.drop_column("call_group")
