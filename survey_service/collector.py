"""Python's cycle collector paused for a block of work that makes no garbage cycles.

Two places stream or build millions of objects that live to the end of the
block: a client-list import (each batch's short-lived tuples set off the
collector about once per thousand rows) and the results child's computation
(rows, answer dicts, respondents: the collector's passes over the growing
heap found nothing to free and cost a fifth to a third of its CPU). The
switch is process-wide: a block that pauses it restores it as it was, and
the first collection after frees whatever cycles were made meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The cycle collector off for the block, then back as it was (an exception included)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
