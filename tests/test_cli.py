"""The administrators' command line: output, changed rows, exit status 2 on bad input."""

from __future__ import annotations

from sqlmodel import select

from survey_service.models import SurveyWave, Unit, User

UNITS_CSV = (
    "code,name,category,department\nJC001,奓山街派出所,基层站所,区公安分局\n"
    "JG001,区发展和改革局行政审批科,机关科室,区发展和改革局\n"
)


def test_units_import_is_idempotent(runner, session, tmp_path):
    """Does re-running units import update rather than duplicate?"""
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV, encoding="utf-8")
    result = runner.invoke(args=["units", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 created, 0 updated, 0 unchanged" in result.output
    path.write_text(UNITS_CSV.replace("奓山街派出所", "奓山派出所"), encoding="utf-8")
    result = runner.invoke(args=["units", "import", str(path)])
    assert "0 created, 1 updated, 1 unchanged" in result.output
    session.expire_all()
    units = session.exec(select(Unit).order_by(Unit.code)).all()
    assert [(u.code, u.name, u.category) for u in units] == [
        ("JC001", "奓山派出所", "基层站所"),
        ("JG001", "区发展和改革局行政审批科", "机关科室"),
    ]


def test_units_import_reports_row_and_field(runner, session, tmp_path):
    """Does a bad category stop the import with file, row and field, storing nothing?"""
    path = tmp_path / "units.csv"
    path.write_text(UNITS_CSV + "JC002,永安街司法所,街道,区司法局\n", encoding="utf-8")
    result = runner.invoke(args=["units", "import", str(path)])
    assert result.exit_code == 2
    assert "units.csv" in result.output and "第 4 行" in result.output
    assert "category" in result.output
    assert session.exec(select(Unit)).all() == []


def test_units_import_missing_file(runner):
    result = runner.invoke(args=["units", "import", "/nonexistent.csv"])
    assert result.exit_code == 2


def test_users_add_and_bad_role(runner, session, tmp_path):
    """Does users add create a hashed login, and refuse a unit user without a unit?"""
    result = runner.invoke(
        args=["users", "add", "wang", "--role", "reviewer", "--password", "s3cret-pass"]
    )
    assert result.exit_code == 0, result.output
    user = session.exec(select(User).where(User.username == "wang")).one()
    assert user.role == "reviewer" and user.password_hash != "s3cret-pass"
    result = runner.invoke(
        args=["users", "add", "li", "--role", "unit", "--password", "s3cret-pass"]
    )
    assert result.exit_code == 2
    assert "所属单位" in result.output
    result = runner.invoke(
        args=["users", "add", "wang", "--role", "agent", "--password", "s3cret-pass"]
    )
    assert result.exit_code == 2 and "已存在" in result.output


def test_waves_open(runner, session):
    """Does waves open record the script id and version, and refuse a second wave of that name?"""
    result = runner.invoke(args=["waves", "open", "2017"])
    assert result.exit_code == 0, result.output
    wave = session.exec(select(SurveyWave)).one()
    assert (wave.name, wave.year, wave.script_id, wave.script_version) == (
        "2017",
        2017,
        "standard_satisfaction",
        1,
    )
    assert runner.invoke(args=["waves", "open", "2017"]).exit_code == 2
    assert runner.invoke(args=["waves", "open", "2018", "--script", "nope"]).exit_code == 2


def test_every_command_has_help(runner):
    """Does every command answer --help?"""
    for args in (
        ["db", "upgrade"],
        ["units", "import"],
        ["users", "add"],
        ["waves", "open"],
        ["clients", "check"],
        ["clients", "import"],
        ["demo"],
        ["sample", "draw"],
        ["sample", "release"],
        ["sample", "verify"],
        ["scripts", "check"],
        ["scripts", "walk"],
        ["worker"],
    ):
        result = runner.invoke(args=[*args, "--help"])
        assert result.exit_code == 0, args
        assert "Usage:" in result.output


def test_scripts_check(runner, tmp_path):
    """Does scripts check accept the standard script and reject a broken one with its line?"""
    from call_scripts import SCRIPTS_DIR

    result = runner.invoke(
        args=["scripts", "check", str(SCRIPTS_DIR / "standard_satisfaction.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "ok: standard_satisfaction version 1" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (SCRIPTS_DIR / "short_demo.yaml")
        .read_text(encoding="utf-8")
        .replace("id: short_demo", "id: broken")
        .replace("id: overall", "id: service_quality"),
        encoding="utf-8",
    )
    result = runner.invoke(args=["scripts", "check", str(broken)])
    assert result.exit_code == 2
    assert "broken.yaml:" in result.output and "service_quality" in result.output


def test_scripts_walk_plays_the_short_script(runner):
    """Does scripts walk play a script in the terminal and end complete?"""
    from call_scripts import SCRIPTS_DIR

    answers = "\n".join(["dealt", "satisfied", "very_satisfied", "窗口太少"]) + "\n"
    result = runner.invoke(
        args=["scripts", "walk", str(SCRIPTS_DIR / "short_demo.yaml")], input=answers
    )
    assert result.exit_code == 0, result.output
    assert "奓山街派出所" in result.output
    assert result.output.rstrip().endswith("status: complete")


def test_scripts_walk_screened_out(runner):
    from call_scripts import SCRIPTS_DIR

    result = runner.invoke(
        args=["scripts", "walk", str(SCRIPTS_DIR / "short_demo.yaml")], input="not_dealt\n"
    )
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("status: screened_out")


def test_clients_check_json(runner):
    """Does clients check print one JSON object with every row's outcome, no database needed?"""
    import json

    from tests.lists.test_parser import SAMPLES

    sample = SAMPLES / "b_shenpiju_utf8bom.csv"
    result = runner.invoke(args=["clients", "check", str(sample), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["encoding"], report["delimiter"]) == ("utf-8-sig", ",")
    assert (report["accepted"], report["rejected"]) == (120, 8)
    assert report["rows"][0] == {
        "row": 2,
        "status": "accepted",
        "reason": None,
        "message": None,
        "raw": "189-****-5270",  # masked unless --full (tests/privacy/test_reveal.py)
        "phone_e164": "189****5270",
    }


def test_clients_check_refused_file(runner, tmp_path):
    """Does a file with no phone column exit 2 with a one-line reason on stderr?"""
    path = tmp_path / "bad.csv"
    path.write_text("姓名,地址\n张三,蔡甸街\n", encoding="utf-8")
    result = runner.invoke(args=["clients", "check", str(path), "--json"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "错误" in result.output


def test_units_import_xlsx(runner, session, tmp_path):
    """Does units import read an XLSX with Chinese headers?"""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["单位代码", "单位名称", "类别", "主管部门"])
    sheet.append(["JC001", "奓山街派出所", "基层站所", "区公安分局"])
    sheet.append([None, None, None, None])
    sheet.append(["JG002", "区税务局纳税服务科", "机关科室", None])
    path = tmp_path / "units.xlsx"
    book.save(path)
    result = runner.invoke(args=["units", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    units = session.exec(select(Unit).order_by(Unit.code)).all()
    assert [(u.code, u.category, u.department) for u in units] == [
        ("JC001", "基层站所", "区公安分局"),
        ("JG002", "机关科室", None),
    ]


def test_ivr_commands(runner, session):
    """Does ivr dial refuse without PUBLIC_BASE_URL, and ivr simulate complete an interview?"""
    from survey_service.db import transaction
    from survey_service.models import Case
    from survey_service.sample import draws
    from tests.factories import make_list, make_unit, make_user, make_wave

    with transaction(session):
        unit = make_unit(session)
        reviewer = make_user(session, role="reviewer")
        wave = make_wave(session)
        make_list(session, unit=unit, wave=wave, n=5, actor=reviewer)
        draws.draw_sample(session=session, wave=wave, seed=11, per_unit=2, actor=None)
    result = runner.invoke(args=["ivr", "dial"])
    assert result.exit_code == 2 and "PUBLIC_BASE_URL" in result.output
    result = runner.invoke(args=["ivr", "simulate", "--at", "2017-11-01 19:00", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "simulated 1 calls" in result.output
    session.expire_all()
    assert [c.disposition for c in session.exec(select(Case).order_by(Case.id)).all()].count(
        "1.1"
    ) == 1
