"""A realistic simulated phone network, read from a settings file.

:class:`SimulatedNetwork` decides, for each call the simulated provider
placed, who picks up and what they press: answers every item, is busy, does
not answer, reaches a machine, hangs up mid-way, declines; the ratings are
drawn around a mean level per unit code (or a default). It delivers the
status callbacks out of order and twice as Twilio may, numbered by
``SequenceNumber``. Every draw comes from the settings' seed, the number
called and how often the network has seen it, never from the call id, so a
run with the same seed plays the same calls.

The settings file is YAML (``simulated_network.yaml`` beside this module is
the default; the ``SIMULATED_NETWORK`` setting names another).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from call_scripts import list_scripts
from survey_service.calls.telephony.simulated import (
    ANSWER,
    NOT_ANSWERED,
    CallRecord,
    PlacedCall,
    SimulatedRespondent,
    StatusPlan,
    Transport,
)

DEFAULT_SETTINGS = Path(__file__).with_name("simulated_network.yaml")
HANG_UP = "hang-up"
MACHINE = "machine"
BEHAVIOURS = (ANSWER, HANG_UP, MACHINE, *NOT_ANSWERED)
RATING_KINDS = ("rating",)
# The first option that goes on with the interview, for items answered by choice.
_DECLINE_KINDS = ("consent", "screening")


@dataclass(frozen=True)
class NetworkSettings:
    seed: int = 0
    behaviour: dict[str, float] = field(default_factory=lambda: {ANSWER: 1.0})
    refuse: float = 0.0
    satisfaction: float = 2.0
    spread: float = 0.9
    unit_satisfaction: dict[str, float] = field(default_factory=dict)
    swap_early: float = 0.0
    late_early: float = 0.0
    repeat_end: float = 0.0
    resend_press: float = 0.0


def _rate(value: Any, name: str) -> float:
    rate = float(value)
    if not 0 <= rate <= 1:
        raise ValueError(f"simulated network: {name} must be between 0 and 1, not {value!r}")
    return rate


def parse_settings(data: Mapping[str, Any]) -> NetworkSettings:
    """Settings from the parsed file; unknown behaviours or bad rates are refused."""
    behaviour = {str(k): float(v) for k, v in (data.get("behaviour") or {ANSWER: 1}).items()}
    unknown = sorted(set(behaviour) - set(BEHAVIOURS))
    if unknown:
        raise ValueError(f"simulated network: unknown behaviour {unknown}; use {BEHAVIOURS}")
    if sum(behaviour.values()) <= 0 or min(behaviour.values()) < 0:
        raise ValueError("simulated network: behaviour weights must be >= 0, not all 0")
    satisfaction = data.get("satisfaction") or {}
    units = {str(k): float(v) for k, v in (satisfaction.get("units") or {}).items()}
    for code, level in {"default": satisfaction.get("default", 2.0), **units}.items():
        if not 1 <= float(level) <= 5:
            raise ValueError(f"simulated network: satisfaction of {code} must be in 1..5")
    callbacks = data.get("callbacks") or {}
    return NetworkSettings(
        seed=int(data.get("seed", 0)),
        behaviour=behaviour,
        refuse=_rate(data.get("refuse", 0), "refuse"),
        satisfaction=float(satisfaction.get("default", 2.0)),
        spread=float(satisfaction.get("spread", 0.9)),
        unit_satisfaction=units,
        **{
            name: _rate(callbacks.get(name, 0), name)
            for name in ("swap_early", "late_early", "repeat_end", "resend_press")
        },
    )


def load_settings(path: str | Path | None = None) -> NetworkSettings:
    """The settings in the YAML file at ``path`` (default: the bundled one)."""
    with open(path or DEFAULT_SETTINGS, encoding="utf-8") as handle:
        return parse_settings(yaml.safe_load(handle) or {})


def _item_kinds() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Item id -> (kind, option keys) over the bundled scripts (ids agree across them)."""
    kinds: dict[str, tuple[str, tuple[str, ...]]] = {}
    for script in list_scripts():
        for item in script.items:
            keys = tuple(str(o.key) for o in item.options if o.key is not None)
            kinds.setdefault(item.id, (item.kind, keys))
    return kinds


@dataclass(frozen=True)
class Plan:
    """What one respondent will do on one call."""

    behaviour: str
    refuses: bool
    hang_up_after: int | None
    status: StatusPlan
    resend_presses: frozenset[int]
    seed: str


class SimulatedNetwork:
    """Plays the calls of a :class:`SimulatedProvider` as the settings say.

    ``unit_of`` maps a called number to its unit code (for the per-unit
    satisfaction); without it every rating uses the default mean.
    """

    def __init__(
        self,
        settings: NetworkSettings,
        transport: Transport,
        auth_token: str,
        *,
        unit_of: Callable[[str], str | None] | None = None,
    ):
        self.settings = settings
        self._transport = transport
        self._token = auth_token
        self._unit_of = unit_of or (lambda _number: None)
        self._seen: Counter[str] = Counter()
        self._kinds = _item_kinds()

    def plan(self, number: str) -> Plan:
        """Draw what happens on the next call to ``number``."""
        s = self.settings
        seed = f"{s.seed}:{number}:{self._seen[number]}"
        self._seen[number] += 1
        rng = random.Random(seed)
        names = list(s.behaviour)
        behaviour = rng.choices(names, [s.behaviour[n] for n in names])[0]
        status = StatusPlan(
            swap_early=rng.random() < s.swap_early,
            late_early=rng.random() < s.late_early,
            repeat_end=rng.random() < s.repeat_end,
        )
        resend = frozenset(i for i in range(30) if rng.random() < s.resend_press)
        return Plan(
            behaviour=behaviour,
            refuses=rng.random() < s.refuse,
            hang_up_after=rng.randint(1, 3) if behaviour == HANG_UP else None,
            status=status,
            resend_presses=resend,
            seed=seed,
        )

    def _chooser(self, plan: Plan, number: str):
        rng = random.Random(plan.seed + ":keys")
        code = self._unit_of(number)
        mean = self.settings.unit_satisfaction.get(code or "", self.settings.satisfaction)
        first = [True]

        def choose(item_id: str, _try_no: int) -> str | None:
            kind, keys = self._kinds.get(item_id, ("", ()))
            declines = first[0] and plan.refuses and kind in _DECLINE_KINDS
            first[0] = False
            if kind in RATING_KINDS:
                level = round(rng.gauss(mean, self.settings.spread))
                return str(min(5, max(1, level)))
            if declines and len(keys) > 1:
                return keys[-1]  # not dealt / refuse: the interview ends politely
            return keys[0] if keys else ""

        return choose

    def respondent(self, call: PlacedCall) -> tuple[Plan, SimulatedRespondent]:
        plan = self.plan(call.to)
        behaviour = plan.behaviour
        kwargs: dict[str, Any] = {
            "status_plan": plan.status,
            "resend_presses": plan.resend_presses,
        }
        if behaviour in NOT_ANSWERED:
            kwargs["answer"] = behaviour
        elif behaviour == MACHINE:
            kwargs.update(answered_by="machine_start", keys=())  # a machine presses nothing
        else:
            kwargs.update(
                answered_by="human",
                keys=self._chooser(plan, call.to),
                hang_up_after=plan.hang_up_after,
                recording=True,  # a person on the line: the call's recording comes back
            )
        return plan, SimulatedRespondent(self._transport, self._token, **kwargs)

    def play(self, call: PlacedCall) -> tuple[Plan, CallRecord]:
        """Play ``call`` to its end; return the plan drawn and what happened."""
        plan, respondent = self.respondent(call)
        return plan, respondent.take(call)
