"""A joint call through Alibaba SmartCall's turns: the script once per unit, the unit named."""

from __future__ import annotations

from sqlmodel import select

from survey_service.calls.telephony.aliyun_turns import TurnState, dynamic_id
from survey_service.models import Answer, CallAttempt, Case, CaseStatus
from tests.calls.conftest import reload
from tests.calls.joint_sample import make_joint_sample
from tests.calls.test_aliyun_turns import _tts, _turn, aliyun  # noqa: F401 (fixture)


def test_smartcall_turns_walk_each_unit_in_turn(app, client, session, dial, aliyun):  # noqa: F811
    (first, second), alone = make_joint_sample(session)
    session.commit()
    for case in alone:
        case.status, case.disposition = CaseStatus.FINAL, "4.70"
        session.add(case)
    session.commit()
    dial(provider=aliyun, limit=5)
    lead = session.exec(select(CallAttempt).order_by(CallAttempt.id)).first()
    state = dynamic_id("test-secret-key", TurnState(lead.id, "-", 0))
    body = _turn(client, state, "mute").get_json()
    assert _tts(body)["p1"].startswith("本次回访涉及2个单位，先请您评价第1个单位：奓山街派出所。")
    for key in ("1", "2"):
        body = _turn(client, body["dynamic_id"], "dtmf", dtmf=key).get_json()
    last_of_first = body["dynamic_id"]
    body = _turn(client, last_of_first, "dtmf", dtmf="1").get_json()
    assert body["hangup"] is False
    assert _turn(client, last_of_first, "dtmf", dtmf="1").get_json() == body  # a retried turn
    spoken = _tts(body)["p1"]
    assert spoken.startswith("下面请您评价第2个单位（共2个）：蔡甸区税务局。")
    assert "您好！区里委托我们回访您在蔡甸区税务局办理的户籍办理事项" in spoken
    for key in ("1", "4"):
        body = _turn(client, body["dynamic_id"], "dtmf", dtmf=key).get_json()
    body = _turn(client, body["dynamic_id"], "dtmf", dtmf="3").get_json()
    assert body["hangup"] is True and _tts(body) == {"p1": "谢谢您的支持，再见！"}
    reload(session, first, second)
    assert (first.disposition, second.disposition) == ("1.1", "1.1")
    answers = sorted(session.exec(select(Answer.case_id, Answer.item_id, Answer.value)).all())
    assert answers == [
        (first.id, "overall", "very_satisfied"),
        (first.id, "screening", "dealt"),
        (first.id, "service_quality", "satisfied"),
        (second.id, "overall", "basically_satisfied"),
        (second.id, "screening", "dealt"),
        (second.id, "service_quality", "dissatisfied"),
    ]
    outcomes = sorted(session.exec(select(CallAttempt.case_id, CallAttempt.outcome)).all())
    assert outcomes == [(first.id, "1.1"), (second.id, "1.1")]
    assert session.get(Case, first.id).status == CaseStatus.FINAL
