"""The metric rules' decision, one sample at a time: a pure function, no I/O.

Live evaluation (server/alert_rules/metric_live.py) keeps a `Judgement` per rule, agent and
target in the database and steps it with each live sample; a backtest
(server/alert_rules/backtest.py) steps one in memory over stored samples. Both call `step`,
so they agree by construction (tests/server/test_metric_rules_property.py checks it).

`step(rule, judgement, ts, value)`:
1. A value breaches when it is above, below or equal to the threshold (equal within 1e-9).
2. A breach adds to the run of breaches and ends the run of recoveries; a value that does
   not breach does the opposite. So a value oscillating around the threshold never makes
   a run long enough to open or to resolve: one incident, not a flurry.
3. Not open, and `breach_count` breaches in a row: open, unless a cooldown runs (an
   incident of this target resolved on its own less than `cooldown` ago); the run goes on,
   so it opens once the cooldown is over if it still breaches.
4. Open, and `recovery_count` recoveries in a row: resolve; the cooldown starts.
5. While open, `peak` keeps the worst value (the highest for `above`, the lowest for
   `below`, the last for `equals`), the resolving value included; it stays after the
   resolve as the closed incident's peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from shared.api.alert_rules import Condition


@dataclass(frozen=True)
class RuleTerms:
    condition: Condition
    threshold: float
    breach_count: int
    recovery_count: int
    cooldown: timedelta


@dataclass(frozen=True)
class Judgement:
    breaches: int = 0
    recoveries: int = 0
    opened_at: datetime | None = None
    peak: float | None = None
    quiet_until: datetime | None = None


class Verdict(Enum):
    open = "open"
    resolve = "resolve"


def breaches(condition: Condition, value: float, threshold: float) -> bool:
    if condition is Condition.above:
        return value > threshold
    if condition is Condition.below:
        return value < threshold
    return math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-9)


def _worse(condition: Condition, peak: float | None, value: float) -> float:
    if peak is None or condition is Condition.equals:
        return value
    return max(peak, value) if condition is Condition.above else min(peak, value)


def step(
    rule: RuleTerms, judgement: Judgement, ts: datetime, value: float
) -> tuple[Judgement, Verdict | None]:
    """The judgement after `value` at `ts`, and what it calls for (the module's steps)."""
    breached = breaches(rule.condition, value, rule.threshold)
    if breached:
        judgement = replace(judgement, breaches=judgement.breaches + 1, recoveries=0)
    else:
        judgement = replace(judgement, breaches=0, recoveries=judgement.recoveries + 1)
    if judgement.opened_at is not None:
        judgement = replace(judgement, peak=_worse(rule.condition, judgement.peak, value))
        if judgement.recoveries >= rule.recovery_count:
            quiet = ts + rule.cooldown if rule.cooldown else None
            closed = Judgement(recoveries=judgement.recoveries, peak=judgement.peak,
                               quiet_until=quiet)  # fmt: skip
            return closed, Verdict.resolve
        return judgement, None
    cooling = judgement.quiet_until is not None and ts < judgement.quiet_until
    if breached and judgement.breaches >= rule.breach_count and not cooling:
        return replace(judgement, opened_at=ts, peak=value, quiet_until=None), Verdict.open
    return judgement, None
