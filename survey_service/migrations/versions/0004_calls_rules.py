"""calling rules: refusal kind and appointment per attempt, senior flag, do-not-call list

A hard refusal puts the number's lookup hash on ``do_not_call``, which every
later wave and the IVR respect; a soft one flags the case for a senior agent;
a 2.21 may carry the booked time of the next call.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "do_not_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=8), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["survey_case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone_hash"),
    )
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("survey_case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("needs_senior", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_case", schema=None) as batch_op:
        batch_op.drop_column("needs_senior")
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_column("appointment_at")
        batch_op.drop_column("refusal")
    op.drop_table("do_not_call")
