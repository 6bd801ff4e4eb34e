"""The parsed, immutable form of a script: items, options, conditions, scoring.

Everything here is a frozen dataclass built by :mod:`call_scripts.schema` from a
validated YAML file. Nothing in this module reads files or knows a channel's
mechanics; :mod:`call_scripts.engine` walks these objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

#: Stored value of an item the respondent (or the agent) skipped on purpose.
#: Only items with ``may_skip: true`` accept it. It is an answer for the path
#: (the engine moves on) but never a substantive one and never scored.
SKIPPED = "_skipped"

#: The two channels an item can be given on.
AGENT = "agent"
IVR = "ivr"
CHANNELS = (AGENT, IVR)

#: Item kinds. ``statement`` is read out and needs no answer; ``open`` takes
#: free text (agent only); every other kind is a single choice among options.
STATEMENT = "statement"
CONSENT = "consent"
SCREENING = "screening"
CHOICE = "choice"
RATING = "rating"
YES_NO = "yes_no"
OPEN = "open"
KINDS = (STATEMENT, CONSENT, SCREENING, CHOICE, RATING, YES_NO, OPEN)
CHOICE_KINDS = (CONSENT, SCREENING, CHOICE, RATING, YES_NO)
#: Kinds whose answer means the interview proper has begun (see
#: :func:`call_scripts.engine.has_substantive_answer`).
SUBSTANTIVE_KINDS = (CHOICE, RATING, YES_NO, OPEN)

#: What an option may end the interview as.
ENDS_SCREENED_OUT = "screened_out"
ENDS_DECLINED = "declined"
ENDS = (ENDS_SCREENED_OUT, ENDS_DECLINED)

#: Placeholders the service fills per case; any other ``{name}`` is an error.
PLACEHOLDERS = ("unit_name", "service", "service_date")


@dataclass(frozen=True)
class Option:
    """One answer of a choice item: the stored ``code`` and how it is given."""

    code: str
    label: str
    key: str
    points: float | None = None
    not_applicable: bool = False
    ends: str | None = None
    ivr_label: str | None = None

    @property
    def spoken_label(self) -> str:
        """The label read out in the IVR key menu."""
        return self.ivr_label or self.label


@dataclass(frozen=True)
class Condition:
    """``ask_if`` of an item: a test on earlier answers.

    ``op`` is ``in`` / ``not_in`` (with ``item`` and ``codes``) or ``all`` /
    ``any`` (with ``parts``). An unanswered or skipped item matches neither
    ``in`` nor ``not_in``: a follow-up is asked only once the answer it depends
    on is known.
    """

    op: str
    item: str | None = None
    codes: tuple[str, ...] = ()
    parts: tuple[Condition, ...] = ()

    def holds(self, answers: Mapping[str, str]) -> bool:
        """Whether the condition is true for these answers."""
        if self.op == "all":
            return all(part.holds(answers) for part in self.parts)
        if self.op == "any":
            return any(part.holds(answers) for part in self.parts)
        value = answers.get(self.item or "")
        if value is None or value == SKIPPED:
            return False
        if self.op == "in":
            return value in self.codes
        return value not in self.codes

    def items(self) -> tuple[str, ...]:
        """Ids of the items this condition reads."""
        if self.op in ("all", "any"):
            return tuple(i for part in self.parts for i in part.items())
        return (self.item or "",)


@dataclass(frozen=True)
class Item:
    """One step of the interview, with its agent and IVR wording."""

    id: str
    kind: str
    title: str
    text: str
    ivr_text: str | None
    options: tuple[Option, ...] = ()
    may_skip: bool = False
    ask_if: Condition | None = None
    channels: frozenset[str] = frozenset(CHANNELS)
    line: int | None = None

    @property
    def is_choice(self) -> bool:
        return self.kind in CHOICE_KINDS

    @property
    def needs_answer(self) -> bool:
        return self.kind != STATEMENT

    def option(self, code: str) -> Option | None:
        """The option stored as ``code``, or None."""
        for opt in self.options:
            if opt.code == code:
                return opt
        return None

    def option_for_key(self, key: str) -> Option | None:
        """The option given by IVR key ``key``, or None."""
        for opt in self.options:
            if opt.key == key:
                return opt
        return None


@dataclass(frozen=True)
class IvrSettings:
    """How the IVR speaks: voice, timeout, repeats and the fixed phrases."""

    # Amazon Polly's Mandarin voice as offered by Twilio <Say>; Polly names the
    # language cmn-CN (Twilio's text-to-speech voice table).
    voice: str = "Polly.Zhiyu"
    language: str = "cmn-CN"
    timeout: int = 8
    max_retries: int = 2
    repeat_key: str = "9"
    option_phrase: str = "{label}请按{key}"
    repeat_phrase: str = "重听请按{key}"
    no_input: str = "对不起，没有收到您的按键。"
    invalid_key: str = "对不起，您按的键无效。"
    goodbye: str = "很抱歉没能收到您的回答，我们可能会再与您联系。感谢您的接听，再见。"


@dataclass(frozen=True)
class Scoring:
    """The script's scoring rules.

    ``weights`` maps every rating item to its weight in the 10-point score
    (0 keeps an item out of the score). Points per level sit on the options.
    ``satisfied_item`` and ``satisfied_levels`` define the "satisfied" flag.
    ``partial_min_share`` is the share of the scored items on the respondent's
    path that must be answered for an unfinished interview to count as partial.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    satisfied_item: str | None = None
    satisfied_levels: frozenset[str] = frozenset()
    partial_min_share: float = 0.5


@dataclass(frozen=True)
class Script:
    """A validated questionnaire.

    ``digest`` is the SHA-256 of the parsed content (canonical JSON), so a
    comment or whitespace edit keeps it while any change of meaning changes it;
    the service stores it next to ``id`` and ``version`` to detect a published
    version whose file was edited.
    """

    id: str
    version: int
    title: str
    items: tuple[Item, ...]
    scoring: Scoring
    ivr: IvrSettings
    closing: Mapping[str, str]
    closing_ivr: Mapping[str, str]
    digest: str
    path: Path | None = None

    def item(self, item_id: str) -> Item:
        """The item with this id.

        :raise KeyError: if the script has no such item.
        """
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"script {self.id!r} has no item {item_id!r}")

    @property
    def rating_items(self) -> tuple[Item, ...]:
        return tuple(it for it in self.items if it.kind == RATING)

    def preamble(self, item: Item) -> tuple[Item, ...]:
        """The statements read just before ``item`` (those directly above it)."""
        index = self.items.index(item)
        out: list[Item] = []
        for prev in reversed(self.items[:index]):
            if prev.kind != STATEMENT:
                break
            out.append(prev)
        return tuple(reversed(out))
