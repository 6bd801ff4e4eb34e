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


# Plain ALTER TABLE (SQLite 3.35+ drops a column in place): a batch copy of
# sample_draw would drop the table that survey_case refers to, which SQLite's
# foreign keys refuse once a draw has cases.
def upgrade() -> None:
    op.add_column("sample_draw", sa.Column("verification", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("sample_draw", "verification")
