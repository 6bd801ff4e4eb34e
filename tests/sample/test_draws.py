"""The sample: design, two-step draw, sub-strata, replicate release, verification."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

import sampling
from survey_service.db import transaction
from survey_service.errors import Conflict, ServiceError
from survey_service.models import Case, ClientList
from survey_service.sample import draws
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave


@pytest.fixture
def frame(session):
    """Two units: U1 with 60 群众 + 40 企业, U2 with 20 群众."""
    with transaction(session):
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session)
        u1 = make_unit(session, code="U1", name="区住房保障管理中心")
        u2 = make_unit(session, code="U2", name="奓山街派出所")
        content = csv_content(60) + b"".join(
            f"企业{i},{13900000000 + i * 3},登记,2017-05-01,企业\n".encode() for i in range(40)
        )
        make_list(session, unit=u1, wave=wave, content=content, actor=reviewer)
        make_list(session, unit=u2, wave=wave, n=20, start=13700000000, actor=reviewer)
    return wave


DESIGN = draws.DrawDesign(
    margin=1.0, sd=2.0, minimum=10, response_rate=0.5, eligibility_rate=1.0, replicates=2, reserve=1
)


def test_margin_design_sizes_and_allocates(session, frame):
    """Are units sized by sampling.sample_size and split proportionally by client kind?"""
    with transaction(session):
        record = draws.fix_frame(session=session, wave=frame, design=DESIGN, actor=None)
    expected = sampling.sample_size([100, 20], 2.0, margin=1.0, minimum=10, response_rate=0.5)
    units = record.design["units"]
    assert [units["U1"]["release"], units["U2"]["release"]] == expected.release.tolist()
    strata = record.design["strata"]
    assert set(strata) == {"U1/群众", "U1/企业", "U2/群众"}
    # U1: n0 = (1.96*2/1)^2 = 15.37, with fpc 15.37/(1+15.37/100) = 13.3 -> 14 completes,
    # / 0.5 response -> 28 released; proportional to 60/40 -> 16.8/11.2 -> 17 and 11.
    assert units["U1"]["release"] == 28
    assert (strata["U1/群众"]["allocated"], strata["U1/企业"]["allocated"]) == (17, 11)
    # released in whole batches of 9 and 6 (two replicates): the plan is what they hold
    assert (strata["U1/群众"]["n"], strata["U1/企业"]["n"]) == (18, 12)
    assert units["U1"]["planned"] == 30 and record.sample_size == 18 + 12 + 20
    assert strata["U2/群众"]["n"] == 20  # census: 20 of 20
    assert record.status == "frame_fixed" and record.seed is None
    assert session.exec(select(Case)).all() == []
    assert all(cl.frozen for cl in session.exec(select(ClientList)).all())


def test_seed_after_frame_then_release_and_verify(session, frame):
    """Draw after fixing; release a reserve batch; verification matches, then catches tampering."""
    with transaction(session):
        record = draws.fix_frame(session=session, wave=frame, design=DESIGN, actor=None)
        draws.draw_from_frame(session=session, record=record, seed=42, actor=None)
    strata = record.design["strata"]
    # U1/群众: n=17 in replicates of 9: 2 released (18), 1 reserve stored -> 27 stored;
    # U1/企业: n=11 in replicates of 6 -> 12 released, 18 stored; U2: census of 20.
    stored = dict(session.exec(select(Case.stratum, func.count()).group_by(Case.stratum)).all())
    assert stored == {"U1/群众": 27, "U1/企业": 18, "U2/群众": 20}
    released = session.exec(select(func.count()).where(Case.released)).one()
    assert released == 18 + 12 + 20
    assert strata["U1/群众"]["replicate_size"] == 9
    assert draws.verify_draw(session, record).ok
    with transaction(session):
        count = draws.release_next_replicate(
            session=session, record=record, unit_codes=["U1"], actor=None
        )
    assert count == 9 + 6
    assert record.design["releases"][0]["units"] == ["U1"]
    with pytest.raises(ServiceError):
        draws.release_next_replicate(
            session=session, record=record, unit_codes=["U1"], actor=None
        )  # no reserve left
    # The released cases are the front of each sub-stratum's order: an SRS.
    ranks = session.exec(
        select(Case.order_rank).where(Case.stratum == "U1/企业", Case.released)
    ).all()
    assert sorted(ranks) == list(range(18))
    case = session.exec(select(Case).where(Case.order_rank == 0)).first()
    case.order_rank = 99
    session.add(case)
    session.flush()
    result = draws.verify_draw(session, record)
    assert not result.ok and f"#{case.client_id}" in result.message


def test_same_seed_same_sample(session, frame):
    """Is the draw a function of the frame and the seed only?"""
    with transaction(session):
        record = draws.draw_sample(session=session, wave=frame, seed=7, design=DESIGN, actor=None)
    first = dict(session.exec(select(Case.client_id, Case.order_rank)).all())
    built = draws.build_frame(session, frame.id)
    again = draws._run_draw(built, record, 7)
    other = draws._run_draw(built, record, 8)
    mask = draws._stored_mask(again, record)
    assert (
        dict(zip(built.client_id[mask].tolist(), again.rank[mask].tolist(), strict=True)) == first
    )
    assert again.rank.tolist() != other.rank.tolist()
    assert len(first) == 27 + 18 + 20


def test_frame_changed_after_fixing_is_refused(session, frame):
    with transaction(session):
        record = draws.fix_frame(session=session, wave=frame, design=DESIGN, actor=None)
    record.frame_hash = "0" * 64
    with pytest.raises(Conflict):
        draws.draw_from_frame(session=session, record=record, seed=1, actor=None)


def test_bad_design_names_the_parameter(session, frame):
    with pytest.raises(ServiceError) as info:
        draws.fix_frame(
            session=session, wave=frame, design=draws.DrawDesign(response_rate=1.5), actor=None
        )
    assert info.value.where.field == "response_rate"


def test_sample_verify_cli(app, runner, session, frame):
    """Does `sample verify` say match, and exit 1 on a difference?"""
    with transaction(session):
        record = draws.draw_sample(session=session, wave=frame, seed=3, design=DESIGN, actor=None)
    result = runner.invoke(args=["sample", "verify", str(record.id)])
    assert result.exit_code == 0 and result.output.startswith("match:")
    with transaction(session):
        case = session.exec(select(Case).order_by(Case.id)).first()
        case.replicate = 9
        session.add(case)
    result = runner.invoke(args=["sample", "verify", str(record.id)])
    assert result.exit_code == 1 and result.output.startswith("DIFFERENT:")
    assert runner.invoke(args=["sample", "verify", "999"]).exit_code == 2
