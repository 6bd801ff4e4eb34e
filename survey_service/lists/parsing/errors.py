"""What the parser tells the unit: reject reasons, skip reasons, file errors."""

from __future__ import annotations

from typing import Any

#: Reject reasons: code -> plain Chinese message shown to the unit for the row.
REASONS: dict[str, str] = {
    "missing_phone": "没有填写电话号码（空白、“无”、“-”、“电话未留”等）。请补填电话。",
    "invalid_phone": (
        "电话号码无效：不是有效的中国大陆手机或固定电话号码"
        "（位数不对、号段不存在、一格里填了多个号码或夹杂文字）。请核对后改正。"
    ),
    "excel_mangled": (
        "电话号码被 Excel 显示成了科学计数法（如 1.38E+10），后几位已经丢失，无法还原。"
        "请把电话列设为“文本”格式，重新填写号码后再上传。"
    ),
    "duplicate_in_file": (
        "这个电话号码在本名单前面已经出现过（以第一次出现的那一行为准），本行不再计入。"
    ),
    "control_chars": (
        "本行含有看不见的控制字符（如 NUL 空字符），多是从其他系统导出时带入的。"
        "请删除这些字符后重新上传。"
    ),
    "garbled_text": (
        "本行有无法识别的乱码字符（文件里混用了不同的文字编码）。请检查姓名等内容，另存后重新上传。"
    ),
}

#: Why a row was skipped (not an error; shown only for transparency).
SKIP_REASONS: dict[str, str] = {
    "title": "表头上方的标题或说明行",
    "header": "表头行",
    "blank": "空行（或只有序号）",
    "footer": "合计、制表人、审核人等表尾行",
}

#: Error codes of :class:`ClientFileError`.
FILE_ERRORS: dict[str, str] = {
    "empty": "文件是空的。/ The file is empty.",
    "header_only": "文件只有表头，没有任何数据行。/ The file has a header but no data rows.",
    "no_phone_column": (
        "在文件前 20 行里找不到电话列（例如“联系电话”“手机号码”“联系方式”）。"
        "请检查表头，或手动指定电话所在的列。/ No phone column found in the first 20 rows; "
        "check the header or map the columns by hand."
    ),
    "binary": (
        "无法识别的文件：既不是 Excel 表格，也不是 CSV/文本文件（可能已损坏）。"
        "/ Not a spreadsheet or a text file (it may be damaged)."
    ),
    "html_disguised": (
        "这个文件其实是网页（HTML）格式，只是扩展名为 .xls。"
        "请用 Excel 打开后另存为 .xlsx 或 CSV 再上传。"
        "/ This .xls file is really an HTML page; save it as .xlsx or CSV first."
    ),
    "too_large": "文件太大。/ The file is too large.",
    "unreadable_spreadsheet": (
        "Excel 文件无法打开（可能已损坏或设置了密码）。/ The spreadsheet cannot be read "
        "(damaged or password-protected)."
    ),
    "sheet_not_found": "找不到指定的工作表。/ The requested sheet does not exist.",
    "bad_column_map": "手动指定的列有误。/ The column mapping is invalid.",
    "malformed_csv": "文件中有无法解析的内容，不是规范的 CSV。/ The file is not valid CSV.",
}


class ClientFileError(ValueError):
    """The file as a whole cannot be a client list.

    ``message`` is Chinese + English for the unit; ``code`` is a key of
    :data:`FILE_ERRORS`; ``where`` says where the problem was found
    (e.g. ``"文件 / file"``, ``"第1-20行 / rows 1-20"``, ``"工作表 Sheet1"``).
    """

    def __init__(self, message: str, where: str | None = None, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.where = where
        self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "where": self.where}


def _fail(code: str, where: str | None = None, detail: str | None = None) -> ClientFileError:
    msg = FILE_ERRORS[code]
    if detail:
        msg = f"{msg}（{detail}）"
    return ClientFileError(msg, where=where, code=code)
