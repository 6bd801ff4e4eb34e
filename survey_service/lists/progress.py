"""An upload's progress, for the page that polls it while the import runs.

The import runs inside the upload's request (and its rows in a helper
process for a big file), so the page cannot be told directly; it polls.
Each web process may serve the poll, so the record is a small JSON file in
the instance folder's ``tmp/`` (mode 0700), named by the uploading user and
a random token the page sent with the file; it is written atomically
(rename) and removed when the request ends. It holds counts only, never a
name or a number.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def valid_token(token: str | None) -> bool:
    return bool(token) and TOKEN.fullmatch(token) is not None


class Progress:
    """The progress record of one upload; every method is a no-op without a token."""

    def __init__(self, directory: str | os.PathLike | None, user_id: int, token: str | None):
        self.path = (
            Path(directory) / f"progress-{int(user_id)}-{token}.json"
            if directory is not None and valid_token(token)
            else None
        )

    def update(self, **fields: Any) -> None:
        if self.path is None:
            return
        handle, name = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-")
        with os.fdopen(handle, "w") as out:
            json.dump(fields, out)
        os.replace(name, self.path)

    def rows_checked(self, rows: int) -> None:
        self.update(stage="checking", rows=rows)

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def read(directory: str | os.PathLike | None, user_id: int, token: str) -> dict[str, Any]:
    """The record as last written, or ``{"stage": "waiting"}`` before the first (or after)."""
    path = Progress(directory, user_id, token).path
    if path is None:
        return {"stage": "waiting"}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"stage": "waiting"}
