"""Readable audit entries: Chinese names for actions, objects and detail fields.

Pure (no database, no Flask): the admin's audit page and any report use it.
An action or field without a label is shown by its code, never hidden.
"""

from __future__ import annotations

from typing import Any

ACTION_LABELS = {
    "auth.login": "登录",
    "auth.logout": "退出登录",
    "auth.login_failed": "登录失败",
    "auth.locked": "登录锁定",
    "user.create": "创建用户",
    "user.update": "修改用户信息",
    "user.role": "变更角色",
    "user.password": "重置密码",
    "user.disable": "停用用户",
    "user.enable": "启用用户",
    "user.senior": "设为资深访员",
    "user.not_senior": "取消资深访员",
    "units.import": "导入单位",
    "wave.open": "开启调查批次",
    "list.upload": "上传名单",
    "staff.upload": "上传工作人员电话",
    "list.submit": "提交名单审核",
    "list.approve": "审核通过名单",
    "list.reject": "退回名单",
    "sample.fix_frame": "固定抽样框",
    "sample.draw": "抽取样本",
    "sample.release": "释放备用样本",
    "phone.view": "查看完整号码",
    "case.outcome": "记录访问结果",
    "ivr.dial": "自动语音外呼",
    "results.close": "结束调查（冻结结果）",
    "results.close_released_holds": "结束调查时释放占用中的样本",
    "ivr.recording": "记录通话录音",
    "review.verification": "记录复核回访问答",
    "results.publish": "发布结果",
}
EXPORT_PREFIX = "export."

OBJECT_LABELS = {
    "user": "用户",
    "unit": "单位",
    "wave": "调查批次",
    "client_list": "名单",
    "list": "名单",
    "draw": "样本",
    "sample_draw": "样本",
    "case": "样本个案",
    "attempt": "拨打记录",
    "export": "导出",
}

FIELD_LABELS = {
    "username": "用户名",
    "role": "角色",
    "old_role": "原角色",
    "new_role": "新角色",
    "display_name": "姓名",
    "unit": "单位",
    "units": "单位数",
    "file": "文件",
    "rows": "行数",
    "accepted": "有效行",
    "rejected": "剔除行",
    "version": "版本",
    "note": "说明",
    "frame_hash": "抽样框哈希",
    "frame_size": "抽样框规模",
    "seed": "随机种子",
    "released": "释放数",
    "script": "问卷",
    "name": "名称",
    "outcome": "结果代码",
    "provider": "服务商",
    "count": "数量",
    "cases": "个案数",
    "case": "个案",
    "attempt": "拨打",
    "final": "最终",
    "created": "新建",
    "updated": "更新",
    "address": "地址",
    "key": "计数对象",
    "failures": "失败次数",
    "minutes": "锁定分钟",
    "download_name": "文件名",
}
# Technical fields that say nothing to a reader of the log.
HIDDEN_FIELDS = {"mimetype", "as_attachment", "headers"}


def action_label(action: str) -> str:
    """``list.approve`` → 审核通过名单; an export names its table; unknown: the code."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action.startswith(EXPORT_PREFIX):
        return f"导出 {action[len(EXPORT_PREFIX) :]}"
    return action


def object_label(object_type: str, object_id: str | None) -> str:
    label = OBJECT_LABELS.get(object_type, object_type)
    return f"{label} #{object_id}" if object_id else label


def detail_items(detail: dict[str, Any] | None, role_labels: dict | None = None) -> list[str]:
    """The detail as readable "字段：值" lines, in a stable order."""
    items = []
    for key, value in (detail or {}).items():
        if key in HIDDEN_FIELDS:
            continue
        if role_labels and key in ("role", "old_role", "new_role") and value in role_labels:
            value = role_labels[value]
        elif isinstance(value, bool):
            value = "是" if value else "否"
        elif isinstance(value, list | tuple):
            value = "、".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = "，".join(f"{k}={v}" for k, v in value.items())
        items.append(f"{FIELD_LABELS.get(key, key)}：{value}")
    return items
