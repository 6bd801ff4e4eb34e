"""speed: the queue's order keys kept on the case (when last tried, the booked time)

The agents' queue ordered every due case by two correlated subqueries over
call_attempt (the latest attempt, and whether the next attempt is a booked
appointment), evaluated for every pending case on every claim. The case now
keeps both: ``last_tried_at`` (set when an attempt starts) and ``booked_at``
(the appointment time a 2.21 booked, cleared by any other outcome).

No index holds the order: its second key, the unit's gap to its target,
changes with every complete; the claim sorts the due cases keeping the
first 64 (a top-N sort over the pending rows, which
``ix_survey_case_status`` finds), and an index on the order's columns would
be written by each claim and each outcome. The gaps come from the
completes per unit, counted at every claim: ``ix_survey_case_completes``
indexes the completed cases only (final: never written again).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("survey_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_tried_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE survey_case SET last_tried_at = ("
        " SELECT max(call_attempt.started_at) FROM call_attempt"
        " WHERE call_attempt.case_id = survey_case.id)"
    )
    op.execute(
        "UPDATE survey_case SET booked_at = next_attempt_at WHERE EXISTS ("
        " SELECT 1 FROM call_attempt WHERE call_attempt.case_id = survey_case.id"
        " AND call_attempt.appointment_at IS NOT NULL"
        " AND call_attempt.appointment_at = survey_case.next_attempt_at)"
    )
    # The literal is dispositions.COMPLETE; a migration keeps its values as they were.
    op.create_index(
        "ix_survey_case_completes",
        "survey_case",
        ["draw_id", "unit_id"],
        postgresql_where=sa.text("disposition = '1.1'"),
        sqlite_where=sa.text("disposition = '1.1'"),
    )


def downgrade() -> None:
    op.drop_index("ix_survey_case_completes", table_name="survey_case")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of survey_case
    # would drop the table that call_attempt and answer refer to.
    op.drop_column("survey_case", "booked_at")
    op.drop_column("survey_case", "last_tried_at")
