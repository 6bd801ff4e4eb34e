"""Service errors that say what went wrong and where, and their HTTP mapping."""

from __future__ import annotations

from dataclasses import dataclass


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
            parts.append(f"字段 {self.field}")
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
