"""Migration 0010 links the cases of a number already drawn for several units."""

from __future__ import annotations

from sqlalchemy import text

from survey_service import migrations
from survey_service.db import make_engine

ROWS = [
    "insert into unit (id, code, name, category, active) values (1, 'U1', 'u', '基层站所', 1)",
    "insert into survey_wave (id, name, year, script_id, script_version, status, settings,"
    " opened_at) values (1, '2017', 2017, 'short_demo', 1, 'open', '{}', '2017-01-01')",
    "insert into stored_file (id, sha256, size, file_name) values (1, 'x', 1, 'f')",
    "insert into client_list (id, unit_id, wave_id, version, status, file_name, file_id,"
    " file_sha256, n_accepted, n_rejected, n_skipped, signals, frozen, uploaded_at)"
    " values (1, 1, 1, 1, 'approved', 'f', 1, 'x', 0, 0, 0, '{}', 1, '2017-01-01')",
    "insert into sample_draw (id, wave_id, status, frame_hash, design, frame_size, sample_size,"
    " created_at) values (1, 1, 'drawn', 'h', '{}', 0, 0, '2017-01-01')",
]


def test_upgrade_links_a_number_drawn_twice_and_leaves_the_others(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    migrations.upgrade(engine, "0009")
    with engine.begin() as conn:
        for sql in ROWS:
            conn.execute(text(sql))
        for client_id, phone_hash in ((1, "a"), (2, "b"), (3, "a"), (4, ""), (5, "")):
            conn.execute(
                text(
                    "insert into client (id, list_id, row_number, phone_enc, phone_hash,"
                    " phone_masked) values (:id, 1, :id, 'e', :hash, 'm')"
                ),
                {"id": client_id, "hash": phone_hash},
            )
            conn.execute(
                text(
                    "insert into survey_case (id, draw_id, unit_id, client_id, stratum,"
                    " order_rank, replicate, released, pseudonym, status, ever_eligible,"
                    " attempts, needs_senior) values (:id + 10, 1, 1, :id, 's', :id, 1, 1,"
                    " 'p' || :id, 'pending', 0, 0, 0)"
                ),
                {"id": client_id},
            )
    migrations.upgrade(engine)
    with engine.connect() as conn:
        groups = dict(conn.execute(text("select id, number_group from survey_case")).all())
    engine.dispose()
    # Cases 11 and 13 share number "a"; purged (empty) hashes are not a shared number.
    assert groups == {11: 11, 12: None, 13: 11, 14: None, 15: None}
