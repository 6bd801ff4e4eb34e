"""The questionnaire as data: script files, one engine, two thin renderings.

A script (``call_scripts/scripts/<id>.yaml``, format in ``call_scripts/README.md``)
defines the interview once. :mod:`~call_scripts.engine` walks it over
``answers: dict[str, str]`` (item id to stored code), :mod:`~call_scripts.scoring`
turns answers into points by the script's own rules, and
:mod:`~call_scripts.render` shows an item to the agent or reads it by IVR.
This package imports no Flask, database or service code.
"""

from call_scripts.engine import (
    COMPLETE,
    DECLINED,
    IN_PROGRESS,
    PARTIAL,
    SCREENED_OUT,
    STATUSES,
    Interpretation,
    ScriptUsageError,
    back,
    expected_items,
    has_substantive_answer,
    interpret,
    next_item,
    prune,
    status,
    valid_inputs,
)
from call_scripts.model import AGENT, IVR, PLACEHOLDERS, SKIPPED, Item, Option, Script
from call_scripts.render import (
    agent_view,
    closing_text,
    fill,
    key_menu,
    twiml_closing,
    twiml_for_item,
    twiml_give_up,
)
from call_scripts.schema import (
    SCRIPTS_DIR,
    ScriptError,
    ScriptInvalid,
    list_scripts,
    load_script,
    validate,
)
from call_scripts.scoring import (
    aspect_points,
    is_satisfied,
    path_item_ids,
    points_table,
    respondent_score,
    satisfied_flags,
)
from call_scripts.walk import WalkResult, walk

__all__ = [
    "AGENT",
    "COMPLETE",
    "DECLINED",
    "IN_PROGRESS",
    "IVR",
    "PARTIAL",
    "PLACEHOLDERS",
    "SCREENED_OUT",
    "SCRIPTS_DIR",
    "SKIPPED",
    "STATUSES",
    "Interpretation",
    "Item",
    "Option",
    "Script",
    "ScriptError",
    "ScriptInvalid",
    "ScriptUsageError",
    "WalkResult",
    "agent_view",
    "aspect_points",
    "back",
    "closing_text",
    "expected_items",
    "fill",
    "has_substantive_answer",
    "interpret",
    "is_satisfied",
    "key_menu",
    "list_scripts",
    "load_script",
    "next_item",
    "path_item_ids",
    "points_table",
    "prune",
    "respondent_score",
    "satisfied_flags",
    "status",
    "twiml_closing",
    "twiml_for_item",
    "twiml_give_up",
    "valid_inputs",
    "validate",
    "walk",
]
