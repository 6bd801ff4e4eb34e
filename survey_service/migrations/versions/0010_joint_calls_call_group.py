"""joint calls: a number drawn for several units is called once, one attempt per case

``survey_case.number_group`` links the wave's cases of one number (the
smallest case id among them; existing draws are linked here), and
``call_attempt.call_group`` the attempts of one call (its first attempt).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_group", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_call_attempt_call_group"), ["call_group"])
        batch_op.create_foreign_key(
            "fk_call_attempt_call_group", "call_attempt", ["call_group"], ["id"]
        )
    with op.batch_alter_table("survey_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number_group", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_survey_case_number_group"), ["number_group"])
    _link_existing_draws()


def _link_existing_draws() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT d.wave_id, c.id, k.phone_hash FROM survey_case c"
            " JOIN client k ON k.id = c.client_id JOIN sample_draw d ON d.id = c.draw_id"
        )
    ).all()
    groups: dict[tuple, list[int]] = defaultdict(list)
    for wave_id, case_id, phone_hash in rows:
        if phone_hash:  # a purged wave's hashes are gone: nothing to link
            groups[(wave_id, phone_hash)].append(case_id)
    links = [
        {"case": case_id, "group": min(ids)}
        for ids in groups.values()
        if len(ids) > 1
        for case_id in ids
    ]
    if links:
        bind.execute(
            sa.text("UPDATE survey_case SET number_group = :group WHERE id = :case"), links
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_case_number_group"))
        batch_op.drop_column("number_group")
    with op.batch_alter_table("call_attempt", schema=None) as batch_op:
        batch_op.drop_constraint("fk_call_attempt_call_group", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_call_attempt_call_group"))
        batch_op.drop_column("call_group")
