"""quality review: the review list of completed interviews, recordings per attempt

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recording_ref", sa.String(length=200), nullable=True))
    op.create_table(
        "quality_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("sampled", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("previous_disposition", sa.String(length=8), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["attempt_id"], ["call_attempt.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["survey_case.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["wave_id"], ["survey_wave.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("wave_id", "case_id"),
    )
    with op.batch_alter_table("quality_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quality_review_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quality_review_wave_id"), ["wave_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quality_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_review_wave_id"))
        batch_op.drop_index(batch_op.f("ix_quality_review_case_id"))
    op.drop_table("quality_review")
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_column("recording_ref")
