"""The role matrix: every route, every role; allowed, forbidden or sent to log in."""

from __future__ import annotations

import pytest

from survey_service.calls import queue
from survey_service.db import transaction
from survey_service.models import Role
from survey_service.sample import draws
from tests.calls.conftest import EVENING
from tests.factories import make_list, make_unit, make_user, make_wave

ALL = {r.value for r in Role}
# endpoint -> roles allowed. Every route of the app must be listed here.
EXPECTED = {
    "main.index": ALL,
    "units.index": {"unit"},
    "units.upload": {"unit"},
    "units.list_template": {"unit"},
    "units.delete": {"unit"},
    "units.upload_progress": {"unit"},
    "units.preview": {"unit"},
    "units.staff_upload": {"unit"},
    "units.detail": {"unit", "reviewer", "admin"},
    "units.errors_csv": {"unit", "reviewer", "admin"},
    "units.reveal": {"unit", "reviewer"},
    "units.errors_full_csv": {"unit", "reviewer"},
    "units.submit": {"unit"},
    "review.signal": {"reviewer", "admin"},
    "review.index": {"reviewer", "admin"},
    "review.detail": {"reviewer", "admin"},
    "review.decide": {"reviewer", "admin"},
    "calls.index": {"agent"},
    "calls.take_next": {"agent"},
    "calls.interview": {"agent"},
    "calls.reveal_number": {"agent"},
    "calls.answer": {"agent"},
    "calls.back": {"agent"},
    "calls.end": {"agent"},
    "calls.callback": {"agent"},
    "calls.progress": {"supervisor", "admin"},
    "supervision.index": {"supervisor", "admin"},
    "supervision.release_replicate": {"supervisor", "admin"},
    "supervision.release_case": {"supervisor", "admin"},
    "supervision.review_list": {"supervisor", "admin"},
    "supervision.build_review": {"supervisor", "admin"},
    "supervision.decide_review": {"supervisor", "admin"},
    "supervision.review_detail": {"supervisor", "admin"},
    "supervision.review_number": {"supervisor", "admin"},
    "supervision.paradata_csv": {"statistician", "supervisor", "admin"},
    "statistics.index": {"statistician", "admin"},
    "statistics.fix_frame": {"statistician"},
    "statistics.draw": {"statistician"},
    "statistics.release": {"statistician"},
    "statistics.draw_detail": {"statistician", "admin"},
    "statistics.verify": {"statistician"},
    "statistics.results": {"statistician", "reviewer", "admin"},
    "statistics.results_csv": {"statistician", "reviewer", "admin"},
    "statistics.chart": {"statistician", "reviewer", "admin"},
    "statistics.signals_page": {"statistician", "reviewer", "admin"},
    "statistics.unit_page": {"statistician", "reviewer", "admin"},
    "statistics.close": {"reviewer", "admin"},
    "statistics.publish": {"reviewer", "admin"},
    "units.results": {"unit"},
    "exports.index": {"statistician", "reviewer", "admin"},
    "exports.report_xlsx": {"statistician", "reviewer", "admin"},
    "exports.table_csv": {"statistician", "reviewer", "admin"},
    "exports.microdata_csv": {"statistician"},
    "exports.microdata_zip": {"statistician"},
    "exports.start_job": {"statistician", "reviewer", "admin"},  # microdata kinds: statistician
    "exports.job_page": {"statistician", "reviewer", "admin"},  # one's own jobs only
    "exports.job_status": {"statistician", "reviewer", "admin"},
    "exports.job_download": {"statistician", "reviewer", "admin"},
    "admin.users": {"admin"},
    "admin.audit": {"admin"},
    **{
        f"evaluation.{name}": {"reviewer", "admin"}
        for name in [
            "index",
            "update_settings",
            "import_part",
            "ranking_page",
            "ranking_chart",
            "record_veto",
            "funnel_page",
            "record_step",
            "export",
            "export_unit",
            "revoke_veto",
            "revoke_step",
        ]
    },
    **{
        f"rectification.{name}": {"reviewer", "admin"}
        for name in [
            "problems",
            "build_problems",
            "unit_problems",
            "review_problem",
            "compare_page",
        ]
    },
    "rectification.unit_page": {"unit"},
    "rectification.answer_problem": {"unit"},
    "admin.user_detail": {"admin"},
    "admin.reset_password": {"admin"},
    "admin.set_user_active": {"admin"},
}
PUBLIC = {"static", "auth.login", "auth.logout", "main.healthz"}


@pytest.fixture
def world(app, session):
    """Two units with approved lists, a drawn sample, a user per role, a held case."""
    with transaction(session):
        unit_a = make_unit(session, code="A01", name="奓山街派出所")
        unit_b = make_unit(session, code="B01", name="区住房保障管理中心")
        users = {
            role.value: make_user(
                session,
                username=role.value,
                role=role.value,
                unit=unit_a if role == Role.UNIT else None,
            )
            for role in Role
        }
        other_unit_user = make_user(session, username="unit_b", role="unit", unit=unit_b)
        wave = make_wave(session)
        list_a = make_list(session, unit=unit_a, wave=wave, n=20, actor=users["reviewer"])
        list_b = make_list(
            session, unit=unit_b, wave=wave, n=20, start=13900000000, actor=users["reviewer"]
        )
        draw = draws.draw_sample(
            session=session, wave=wave, seed=7, per_unit=5, actor=users["statistician"]
        )
        # A Wednesday evening in Wuhan: inside the calling rules' day-parts.
        case = queue.claim_next_case(session, users["agent"], now=EVENING)
    return {
        "users": users,
        "list_a": list_a,
        "list_b": list_b,
        "draw": draw,
        "case": case,
        "other_unit_user": other_unit_user,
    }


def _url(rule, world) -> str:
    values = {
        "list_id": world["list_a"].id,
        "draw_id": world["draw"].id,
        "case_id": world["case"].id,
        "chart": "forest",
        "table": "estimates",
        "code": "A01",
        "part": "work_style",
        "problem_id": 1,
        "name": "ranking.csv",
        "fmt": "xlsx",
        "user_id": world["users"]["agent"].id,
        "review_id": 1,
        "token": "a" * 22,
        "signal": "shared",
        "kind": "report_xlsx",
        "job_id": 1,
    }
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<int:{name}>", str(values[name])).replace(
            f"<{name}>", str(values[name])
        )
    return path


def _routes(app):
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint not in PUBLIC and not r.endpoint.startswith(("ivr.", "ivr_aliyun."))
    ]


def test_every_route_is_in_the_matrix(app):
    """Is every route of the app covered by the expected matrix?"""
    assert {r.endpoint for r in _routes(app)} == set(EXPECTED)


@pytest.mark.parametrize("role", [None, *sorted(ALL)])
def test_role_matrix(app, client, auth, world, role):
    """Does each role get exactly its routes: allowed, 403, or sent to log in?"""
    if role is not None:
        assert auth.login(role).status_code == 302
    for rule in _routes(app):
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(_url(rule, world), method=method)
        status = response.status_code
        assert status < 500, (rule.endpoint, role, status)
        if role is None:
            assert status == 302 and "/auth/login" in response.headers["Location"], rule.endpoint
        elif role in EXPECTED[rule.endpoint]:
            assert status not in (401, 403), (rule.endpoint, role, status)
        else:
            assert status == 403, (rule.endpoint, role, status)


def test_unit_sees_only_its_own_lists(client, auth, world):
    """Can a unit's staff open another unit's list? (No: 404, nothing revealed.)"""
    auth.login("unit_b")
    assert client.get(f"/unit/lists/{world['list_a'].id}").status_code == 404
    assert client.get(f"/unit/lists/{world['list_a'].id}/errors.csv").status_code == 404
    assert client.post(f"/unit/lists/{world['list_a'].id}/submit").status_code == 404
    assert client.post(f"/unit/lists/{world['list_a'].id}/reveal").status_code == 404
    assert client.post(f"/unit/lists/{world['list_a'].id}/errors-full.csv").status_code == 404
    assert client.get(f"/unit/lists/{world['list_b'].id}").status_code == 200


def test_agent_sees_only_the_case_it_holds(client, auth, world, session):
    """Can an agent open a case another agent holds? (No: 404.)"""
    with transaction(session):
        make_user(session, username="agent_two", role="agent")
    auth.login("agent_two")
    case_id = world["case"].id
    assert client.get(f"/calls/case/{case_id}").status_code == 404
    assert client.post(f"/calls/case/{case_id}/number").status_code == 404
    assert (
        client.post(
            f"/calls/case/{case_id}/answer", data={"item_id": "screening", "value": "dealt"}
        ).status_code
        == 404
    )
