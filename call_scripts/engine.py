"""Walk a script: which item comes next, what an input means, where an interview stands.

Every function takes the script and the answers so far, ``dict[str, str]``
(item id to stored value: an option code, free text, or :data:`SKIPPED`), and
returns a new value; nothing is mutated. The agent's page and the IVR webhook
both call these, so an answer means the same whichever way it was given.

The path
    Items are asked in file order. An item is on the path when its
    ``ask_if`` holds for the earlier answers and it is offered on the channel.
    Answering an option that ``ends`` the interview (consent refused,
    screened out) cuts the path there. Answers to items that are no longer on
    the path (after the agent went back and changed an earlier answer) are
    ignored everywhere and dropped by :func:`prune`.

Status (:func:`status`), what the answers amount to now
    ``declined``
        the consent item was answered with an option that ``ends: declined``
        (respondent busy or unwilling; the service decides refusal or
        appointment from the stored code).
    ``screened_out``
        a screening option that ``ends: screened_out`` was chosen: the
        respondent is not eligible (AAPOR 4.70), not a refusal.
    ``complete``
        no item is left on the path (skipped items count as done).
    ``partial``
        unfinished, but the respondent gave a real answer (not skipped) to at
        least ``scoring.partial_min_share`` of the scored rating items now on
        the path (AAPOR 1.2 "partial": enough answered to be used).
    ``in_progress``
        unfinished and below that share. If the call has ended, it is a
        break-off (or no interview at all when nothing substantive was said;
        see :func:`has_substantive_answer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from call_scripts.model import (
    AGENT,
    CHANNELS,
    IVR,
    OPEN,
    SKIPPED,
    SUBSTANTIVE_KINDS,
    Item,
    Script,
)

IN_PROGRESS = "in_progress"
COMPLETE = "complete"
PARTIAL = "partial"
SCREENED_OUT = "screened_out"
DECLINED = "declined"
STATUSES = (IN_PROGRESS, COMPLETE, PARTIAL, SCREENED_OUT, DECLINED)

STORE = "store"
REPEAT = "repeat"
INVALID = "invalid"


class ScriptUsageError(ValueError):
    """The engine was asked something that makes no sense for this script."""


@dataclass(frozen=True)
class Interpretation:
    """What one input means for an item.

    ``action`` is ``store`` (keep ``value`` as the answer), ``repeat`` (read
    the item again; IVR repeat key) or ``invalid`` (``message`` says why, in
    words fit to say to the respondent).
    """

    item_id: str
    action: str
    value: str | None = None
    message: str | None = None

    @property
    def stored(self) -> bool:
        return self.action == STORE


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ScriptUsageError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")


def _ended_by(item: Item, value: str | None) -> str | None:
    if value is None or not item.is_choice:
        return None
    option = item.option(value)
    return option.ends if option else None


def expected_items(
    script: Script, answers: Mapping[str, str], channel: str = AGENT
) -> tuple[Item, ...]:
    """The answerable items on the respondent's path, as far as it is known now.

    A follow-up whose condition reads a not-yet-answered item is not on the
    path yet; it appears once that answer is in.
    """
    _check_channel(channel)
    path: list[Item] = []
    for item in script.items:
        if not item.needs_answer or channel not in item.channels:
            continue
        if item.ask_if is not None and not item.ask_if.holds(answers):
            continue
        path.append(item)
        if _ended_by(item, answers.get(item.id)):
            break
    return tuple(path)


def next_item(script: Script, answers: Mapping[str, str], channel: str = AGENT) -> Item | None:
    """The next item to ask, or None when the interview is over (done or ended)."""
    for item in expected_items(script, answers, channel):
        value = answers.get(item.id)
        if value is None:
            return item
        if _ended_by(item, value):
            return None
    return None


def prune(script: Script, answers: Mapping[str, str], channel: str = AGENT) -> dict[str, str]:
    """``answers`` without the answers to items that are no longer on the path."""
    on_path = {item.id for item in expected_items(script, answers, channel)}
    # An answer can put its own follow-up back on the path, so repeat until stable.
    pruned = {k: v for k, v in answers.items() if k in on_path}
    while True:
        on_path = {item.id for item in expected_items(script, pruned, channel)}
        again = {k: v for k, v in pruned.items() if k in on_path}
        if again == pruned:
            return again
        pruned = again


def back(script: Script, answers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Go back one item (agent only): the last answered item and the answers without it.

    Answers that are off the path are dropped as well.

    :raise ScriptUsageError: if nothing has been answered yet.
    """
    pruned = prune(script, answers, AGENT)
    answered = [item for item in expected_items(script, pruned, AGENT) if item.id in pruned]
    if not answered:
        raise ScriptUsageError("nothing answered yet: there is no item to go back to")
    last = answered[-1].id
    rest = {k: v for k, v in pruned.items() if k != last}
    return last, prune(script, rest, AGENT)


def valid_inputs(item: Item, channel: str) -> tuple[tuple[str, str], ...]:
    """The inputs that answer ``item`` on ``channel``, with their labels.

    Agent: ``(code, label)`` per option, plus ``(SKIPPED, "跳过")`` when the
    item may be skipped; an open item takes any text and lists nothing but the
    skip. IVR: ``(key, label)`` per option. The IVR repeat key is a control,
    not an answer, and is not listed (it is ``script.ivr.repeat_key``).
    """
    _check_channel(channel)
    if channel == IVR:
        if IVR not in item.channels:
            return ()
        return tuple((opt.key, opt.label) for opt in item.options)
    inputs = tuple((opt.code, opt.label) for opt in item.options)
    if item.may_skip:
        inputs += ((SKIPPED, "跳过"),)
    return inputs


def interpret(
    script: Script, item_id: str, raw: str | None, channel: str, *, attempt: int = 0
) -> Interpretation:
    """What the input ``raw`` means for item ``item_id`` on ``channel``.

    Agent inputs are option codes (or free text for an open item); IVR inputs
    are the digits pressed, ``""`` when nothing was pressed. On the IVR a
    skippable item that still has no key after ``ivr.max_retries`` repeats
    (``attempt`` counts them, 0 for the first reading) is stored as skipped.

    :raise ScriptUsageError: for an unknown item, a statement, or an item not
        offered on this channel.
    """
    _check_channel(channel)
    try:
        item = script.item(item_id)
    except KeyError as exc:
        raise ScriptUsageError(str(exc.args[0])) from None
    if not item.needs_answer:
        raise ScriptUsageError(f"item {item_id!r} is a statement and takes no answer")
    if channel not in item.channels:
        raise ScriptUsageError(f"item {item_id!r} is not asked on the {channel} channel")
    text = (raw or "").strip()

    def invalid(message: str) -> Interpretation:
        return Interpretation(item_id, INVALID, message=message)

    if channel == IVR:
        if text == script.ivr.repeat_key:
            return Interpretation(item_id, REPEAT)
        if not text:
            if item.may_skip and attempt >= script.ivr.max_retries:
                return Interpretation(item_id, STORE, SKIPPED)
            return invalid(script.ivr.no_input)
        option = item.option_for_key(text)
        if option is None:
            return invalid(script.ivr.invalid_key)
        return Interpretation(item_id, STORE, option.code)

    if text in ("", SKIPPED):
        if item.may_skip:
            return Interpretation(item_id, STORE, SKIPPED)
        return invalid("此题必须回答，不能跳过。")
    if item.kind == OPEN:
        return Interpretation(item_id, STORE, text)
    if item.option(text) is None:
        return invalid(f"“{text}”不是此题的选项。")
    return Interpretation(item_id, STORE, text)


def has_substantive_answer(script: Script, answers: Mapping[str, str]) -> bool:
    """Whether the respondent has answered an item of the interview proper.

    Consent and screening do not count; a choice, rating, yes/no or open item
    on the path answered with anything but :data:`SKIPPED` does ("说不清"
    counts: it is an answer). Used for the rule "no IVR retry after the
    respondent answered an item".
    """
    for channel in CHANNELS:
        for item in expected_items(script, answers, channel):
            if item.kind in SUBSTANTIVE_KINDS and answers.get(item.id, SKIPPED) != SKIPPED:
                return True
    return False


def status(script: Script, answers: Mapping[str, str], channel: str = AGENT) -> str:
    """What the answers amount to now; see the module docstring for each value."""
    path = expected_items(script, answers, channel)
    for item in path:
        ended = _ended_by(item, answers.get(item.id))
        if ended:
            return ended
    if all(item.id in answers for item in path):
        return COMPLETE
    scored = [
        item
        for item in path
        if item.id in script.scoring.weights and script.scoring.weights[item.id] > 0
    ]
    if scored:
        given = sum(1 for item in scored if answers.get(item.id, SKIPPED) != SKIPPED)
        if given / len(scored) >= script.scoring.partial_min_share:
            return PARTIAL
    return IN_PROGRESS
