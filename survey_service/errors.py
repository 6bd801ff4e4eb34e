"""Service errors that say what went wrong and where, and their HTTP mapping."""

from __future__ import annotations

from dataclasses import dataclass

# How a field is named to users: the code's names (form fields, design
# parameters, settings) are never shown as they are.
FIELD_LABELS = {
    "active": "启用状态",
    "allocation": "分配方式",
    "bodies": "决定机构",
    "date": "日期",
    "decided_on": "决定日期",
    "document": "依据文件",
    "eligibility_rate": "预期合格率",
    "file": "文件",
    "level": "置信水平",
    "margin": "误差界",
    "measure": "整改措施",
    "minimum": "最少完成数",
    "name": "名称",
    "note": "意见",
    "part": "分项",
    "password": "密码",
    "per_unit": "每单位样本量",
    "reason": "理由",
    "replicates": "发放批次数",
    "reserve": "后备批次数",
    "response_rate": "预期应答率",
    "review_share": "复核比例",
    "role": "角色",
    "script": "问卷脚本",
    "sd": "假定标准差",
    "seed": "随机种子",
    "settings.calling": "拨打设置",
    "shortlist_sizes": "筛选名单规模",
    "substrata": "子层",
    "unit": "单位代码",
    "username": "用户名",
    "weights": "分项权重",
    "working_days": "整改期限",
    "year": "年份",
}


def field_label(field: str) -> str:
    """A field's name for users: its Chinese label, else the name as given."""
    return FIELD_LABELS.get(field, field)


@dataclass(frozen=True)
class Where:
    """Where a problem sits: a file, a row as the user sees it, a field."""

    file: str | None = None
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"文件 {self.file}")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        if self.field:
            parts.append(f"字段 {field_label(self.field)}")
        return "，".join(parts)


class ServiceError(Exception):
    """A workflow rule was broken; the message is shown to the user (zh-CN)."""

    status_code = 400

    def __init__(self, message: str, *, where: Where | None = None):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}：{self.message}" if self.where and str(self.where) else self.message


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    """The record is not in a state that allows this action."""

    status_code = 409


class StillComputing(Exception):
    """A wave's first figures are being computed apart and took longer than a request waits:
    the page says so and refreshes itself (``RESULTS_FIRST_WAIT_SECONDS``)."""

    def __init__(self, wave_id: int, started_at, *, refresh_seconds: int = 5) -> None:
        super().__init__(f"the first results of wave {wave_id} are being computed")
        self.wave_id = wave_id
        self.started_at = started_at
        self.refresh_seconds = refresh_seconds
