"""Bulk-seed a district with a drawn sample and answered interviews, for the page bench.

The results pages read units, the draw's design, cases, call attempts and
answers; the seeder writes exactly those with PostgreSQL ``COPY`` so that a
city of 7,000 units (280,000 cases, about 2 million answers) is ready in a few
minutes. The draw's design has the shape :func:`sample.draws.draw_sample`
records (units, sub-strata by client kind with their N_h); the clients are
placeholders (no real or encrypted number: the results never read them).
Answers follow a per-unit satisfaction level, so scores spread as a real
district's do (about 3.5-9.5).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

KINDS = (("群众", 200, 30), ("企业", 50, 10))  # client kind, N_h, cases released
LEVELS = ("very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied")
RATINGS = ("work", "enterprise_service", "lawful", "people", "responsibility", "overall")
COMMENTS = ("办事效率很高", "希望窗口多开几个", "态度不错", "流程还可以再简化", "等的时间有点长")
SCRIPT_ID = "standard_satisfaction"


def _copy(cur, table: str, columns: tuple[str, ...], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _rating(rng: random.Random, quality: float) -> str:
    """A rating code: ``quality`` 0-1 moves the answers up the scale; 5% 说不清."""
    if rng.random() < 0.05:
        return "na"
    x = rng.random() * 0.7 + quality * 0.6 - 0.15
    index = 0 if x > 0.8 else 1 if x > 0.55 else 2 if x > 0.35 else 3 if x > 0.15 else 4
    return LEVELS[index]


def seed_results(app, *, units: int, password: str, seed: int = 17) -> dict:
    """Seed ``units`` units with 40 released cases each; return ids the bench needs."""
    from survey_service.calls.settings import ROUND_THE_CLOCK
    from survey_service.db import get_session, transaction
    from survey_service.models import SampleDraw, StoredFile
    from survey_service.sample import verification
    from survey_service.setup.users import create_user
    from survey_service.setup.waves import open_wave

    rng = random.Random(seed)
    now = datetime(2017, 11, 1, 10, 0, tzinfo=UTC)
    with app.app_context():
        session = get_session()
        with transaction(session):
            create_user(session=session, username="reviewer", password=password, role="reviewer")
            create_user(
                session=session, username="statistician", password=password, role="statistician"
            )
            agent = create_user(session=session, username="agent0", password=password, role="agent")
            wave = open_wave(
                session=session,
                name="2017",
                script_id=SCRIPT_ID,
                settings={"calling": ROUND_THE_CLOCK},
            )
            stored = StoredFile(sha256="0" * 64, file_name="bench.csv")
            session.add(stored)
            session.flush()
            wave_id, agent_id, file_id = wave.id, agent.id, stored.id
        engine = app.extensions["engine"]
        raw = engine.raw_connection()
        try:
            cur = raw.driver_connection.cursor()
            codes = [f"U{u:04d}" for u in range(units)]
            _copy(
                cur,
                "unit",
                ("id", "code", "name", "category", "active"),
                (
                    (u + 1, code, f"单位{code}", "机关科室" if u % 4 == 0 else "基层站所", True)
                    for u, code in enumerate(codes)
                ),
            )
            _copy(
                cur,
                "client_list",
                (
                    "id",
                    "unit_id",
                    "wave_id",
                    "version",
                    "status",
                    "file_name",
                    "file_id",
                    "file_sha256",
                    "n_accepted",
                    "n_rejected",
                    "n_skipped",
                    "signals",
                    "frozen",
                    "uploaded_at",
                ),
                (
                    (
                        u + 1,
                        u + 1,
                        wave_id,
                        1,
                        "approved",
                        "bench.csv",
                        file_id,
                        "0" * 64,
                        250,
                        0,
                        0,
                        "{}",
                        True,
                        now,
                    )
                    for u in range(units)
                ),
            )
            per_unit = sum(k[2] for k in KINDS)
            client_rows, case_rows, attempt_rows, answer_rows = [], [], [], []
            case_id = attempt_id = answer_id = 0
            for u, code in enumerate(codes):
                quality = rng.betavariate(5, 2)
                for kind, _N, n in KINDS:
                    for rank in range(n):
                        case_id += 1
                        client_rows.append(
                            (case_id, u + 1, rank + 1, "x", "x" * 64, "130****0000", kind)
                        )
                        draw_r = rng.random()
                        if draw_r < 0.05:  # still open, never dialled
                            status, disposition, finalized = "pending", None, None
                        else:
                            status, finalized = "final", now + timedelta(seconds=case_id)
                            disposition = (
                                "1.1"
                                if draw_r < 0.80
                                else "1.2"
                                if draw_r < 0.84
                                else "2.11"
                                if draw_r < 0.93
                                else "3.13"
                            )
                        case_rows.append(
                            (
                                case_id,
                                1,
                                u + 1,
                                case_id,
                                f"{code}/{kind}",
                                rank,
                                1,
                                True,
                                f"p{case_id:015d}",
                                status,
                                disposition,
                                disposition is not None,
                                0 if status == "pending" else 1,
                                False,
                                finalized,
                            )
                        )
                        if disposition is None:
                            continue
                        attempt_id += 1
                        attempt_rows.append(
                            (
                                attempt_id,
                                case_id,
                                agent_id,
                                "agent",
                                finalized,
                                finalized,
                                disposition,
                            )
                        )
                        if disposition not in ("1.1", "1.2"):
                            continue
                        answers = {"consent": "agree", "screening": "dealt"}
                        answers["applicant"] = "enterprise" if kind == "企业" else "individual"
                        ratings = [
                            r for r in RATINGS if r != "enterprise_service" or kind == "企业"
                        ]
                        if disposition == "1.2":
                            ratings = ratings[: len(ratings) // 2 + 1]
                        for item in ratings:
                            answers[item] = _rating(rng, quality)
                        if disposition == "1.1":
                            favours = "yes" if rng.random() < 0.02 else "no"
                            answers["favours"] = favours
                            if favours == "yes":
                                answers["favours_detail"] = "要求请吃饭"
                            answers["comment"] = (
                                rng.choice(COMMENTS) if rng.random() < 0.2 else "_skipped"
                            )
                        for item, value in answers.items():
                            answer_id += 1
                            answer_rows.append(
                                (
                                    answer_id,
                                    case_id,
                                    item,
                                    value,
                                    SCRIPT_ID,
                                    1,
                                    attempt_id,
                                    finalized,
                                )
                            )
            _copy(
                cur,
                "client",
                ("id", "list_id", "row_number", "phone_enc", "phone_hash", "phone_masked", "kind"),
                client_rows,
            )
            design = {
                "parameters": {"per_unit": per_unit, "substrata": "kind", "replicates": 1},
                "list_ids": list(range(1, units + 1)),
                "units": {
                    code: {"N": 250, "release": per_unit, "completes": 30, "planned": per_unit}
                    for code in codes
                },
                "strata": {
                    f"{code}/{kind}": {
                        "unit": code,
                        "kind": kind,
                        "N": big_n,
                        "n": n,
                        "allocated": n,
                        "replicate_size": n,
                        "released": 1,
                        "stored": 1,
                    }
                    for code in codes
                    for kind, big_n, n in KINDS
                },
                "releases": [],
            }
            raw.commit()
        finally:
            raw.close()
        with transaction(session):
            draw = SampleDraw(
                wave_id=wave_id,
                status="drawn",
                seed=seed,
                generator="numpy.random.PCG64",
                frame_hash="0" * 64,
                design=design,
                frame_size=units * 250,
                sample_size=units * per_unit,
                drawn_at=now,
            )
            session.add(draw)
            session.flush()
            draw_id = draw.id
        raw = engine.raw_connection()
        try:
            cur = raw.driver_connection.cursor()
            _copy(
                cur,
                "survey_case",
                (
                    "id",
                    "draw_id",
                    "unit_id",
                    "client_id",
                    "stratum",
                    "order_rank",
                    "replicate",
                    "released",
                    "pseudonym",
                    "status",
                    "disposition",
                    "ever_eligible",
                    "attempts",
                    "needs_senior",
                    "finalized_at",
                ),
                ((r[0], draw_id, *r[2:]) for r in case_rows),
            )
            _copy(
                cur,
                "call_attempt",
                ("id", "case_id", "agent_id", "channel", "started_at", "ended_at", "outcome"),
                attempt_rows,
            )
            _copy(
                cur,
                "answer",
                (
                    "id",
                    "case_id",
                    "item_id",
                    "value",
                    "script_id",
                    "script_version",
                    "attempt_id",
                    "answered_at",
                ),
                answer_rows,
            )
            for table in ("unit", "client_list", "client", "survey_case", "call_attempt", "answer"):
                cur.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    ).text
                )
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
        # a real draw keeps its verification when drawn (sample.verification.draw_verified),
        # so that its page runs none: the seeded one keeps its own, whatever it finds
        with transaction(session):
            verification.kept_verification(session, session.get(SampleDraw, draw_id))
    pending = [r[0] for r in case_rows if r[9] == "pending"]
    return {
        "draw_id": draw_id,
        "cases": len(case_rows),
        "answers": len(answer_rows),
        "pending": pending,
        "agent_id": agent_id,
        "unit": codes[0],
    }


def seeded_ids(url: str) -> dict | None:
    """The ids :func:`seed_results` returned, read back from a database it seeded; None if unseeded.

    For ``bench_pages.py --keep-db``: a city takes minutes to seed, so a kept
    database is reused. Cases the bench answered since are no longer pending.
    """
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            draw_id = conn.execute(text("SELECT max(id) FROM sample_draw")).scalar()
            if draw_id is None:
                return None
            pending = conn.execute(
                text(
                    "SELECT id FROM survey_case WHERE draw_id = :d AND status = 'pending'"
                    " ORDER BY id"
                ),
                {"d": draw_id},
            ).scalars()
            return {
                "draw_id": draw_id,
                "cases": conn.execute(text("SELECT count(*) FROM survey_case")).scalar_one(),
                "answers": conn.execute(text("SELECT count(*) FROM answer")).scalar_one(),
                "pending": list(pending),
                "agent_id": conn.execute(
                    text("SELECT id FROM user_account WHERE username = 'agent0'")
                ).scalar_one(),
                "unit": conn.execute(text("SELECT min(code) FROM unit")).scalar_one(),
            }
    finally:
        engine.dispose()
