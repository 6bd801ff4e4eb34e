"""A draw anyone can audit: the package, its check without the database, the CLI steps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from sampling.audit import check_package
from survey_service.db import transaction
from survey_service.errors import Conflict
from survey_service.models import Case, Client, SampleDraw
from survey_service.sample import draws
from survey_service.sample.audit_package import audit_package
from tests.factories import csv_content, make_list, make_unit, make_user, make_wave

ROOT = Path(__file__).resolve().parents[2]
DESIGN = draws.DrawDesign(
    margin=1.0, sd=2.0, minimum=10, response_rate=0.5, eligibility_rate=1.0, replicates=2, reserve=1
)


@pytest.fixture
def wave(session):
    """U1 with 60 群众 + 40 企业, U2 with 20 群众."""
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


def _drawn(session, wave, seed=42):
    with transaction(session):
        record = draws.fix_frame(session=session, wave=wave, design=DESIGN, actor=None)
        draws.draw_from_frame(session=session, record=record, seed=seed, actor=None)
    return record


def test_package_reproduces_the_draw_without_phone_numbers(session, wave):
    record = _drawn(session, wave)
    package = audit_package(session, record)
    text = json.dumps(package, ensure_ascii=False)
    phones = [c.phone_hash for c in session.exec(select(Client)).all()]
    assert len(package["frame"]["rows"]) == 120 == record.frame_size
    assert not any(str(13900000000 + i * 3) in text for i in range(40))  # no phone number
    assert "phone" not in text.lower()
    result = check_package(package)
    assert result.ok, result.problems
    assert result.frame_hash == record.frame_hash
    # the selected keys are the recorded cases with rank < n, per stratum, in random order
    strata = record.design["strata"]
    key_of = {c.id: c.phone_hash for c in session.exec(select(Client)).all()}
    for label, spec in strata.items():
        cases = session.exec(
            select(Case).where(Case.stratum == label, Case.order_rank < spec["n"])
        ).all()
        want = [key_of[c.client_id] for c in sorted(cases, key=lambda c: c.order_rank)]
        assert result.selected[label] == want
        assert len(want) == spec["n"]
    assert {len(v) for v in result.released.values()} == {18, 12, 20}
    assert set(phones) >= {row[2] for row in package["frame"]["rows"]}


def test_package_catches_a_changed_seed_frame_or_case(session, wave):
    package = audit_package(session, _drawn(session, wave))
    other = dict(package, seed=43)
    res = check_package(other)
    assert not res.ok and res.problems[0].startswith("case ")
    rows = [list(r) for r in package["frame"]["rows"]]
    rows[0][1] = "企业" if rows[0][1] == "群众" else "群众"
    res = check_package(dict(package, frame={"columns": ["unit", "kind", "key"], "rows": rows}))
    assert not res.ok and "frame hash differs" in res.problems[0]
    swapped = dict(
        package, frame={"columns": ["unit", "kind", "key"], "rows": package["frame"]["rows"][::-1]}
    )
    res = check_package(swapped)
    assert not res.ok and res.problems == ["frame rows are not in canonical order (first at row 0)"]


def test_package_needs_a_drawn_sample(session, wave):
    with transaction(session):
        record = draws.fix_frame(session=session, wave=wave, design=DESIGN, actor=None)
    with pytest.raises(Conflict):
        audit_package(session, record)


def test_python_m_sampling_audit_runs_on_the_package_alone(session, wave, tmp_path):
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(audit_package(session, _drawn(session, wave))), encoding="utf-8")
    # sampling/ alone (import-linter keeps it free of survey_service and flask)
    out = subprocess.run(
        [sys.executable, "-m", "sampling.audit", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    report = out.stdout.strip()
    assert json.loads(report)["ok"] is True
    assert sum(len(v) for v in json.loads(report)["selected"].values()) == 17 + 11 + 20


def test_cli_fix_frame_then_seed_then_audit(runner, session, wave, tmp_path):
    result = runner.invoke(
        args=[
            "sample",
            "fix-frame",
            "--margin",
            "1.0",
            "--sd",
            "2.0",
            "--minimum",
            "10",
            "--eligibility-rate",
            "1.0",
        ]
    )
    assert result.exit_code == 0, result.output
    record = session.exec(select(SampleDraw)).one()
    assert record.status == "frame_fixed" and f"--draw {record.id}" in result.output
    result = runner.invoke(args=["sample", "draw-fixed", "--draw", str(record.id), "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert f"draw {record.id}: seed 7" in result.output
    path = tmp_path / "audit.json"
    result = runner.invoke(args=["sample", "export-audit", str(record.id), str(path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["sample", "audit", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("REPRODUCED: frame 120 elements")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["seed"] = 8
    path.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(args=["sample", "audit", str(path)])
    assert result.exit_code == 1 and result.output.startswith("DIFFERENT")
    again = runner.invoke(args=["sample", "draw-fixed", "--draw", str(record.id), "--seed", "7"])
    assert again.exit_code == 2  # already drawn
