"""The cost report's estimate of the recent backups a prune run did not list (see docs/cost.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from tablesafe.config.plans import Plan
from tablesafe.config.schedule_expr import run_times
from tablesafe.prune.recent import Group


class TailEstimate:
    """How many backups a rule made after the recent listing's last complete window (from its schedule)."""

    def __init__(self, plans: Mapping[str, Plan], listed_until: datetime | None, now: datetime, window: timedelta):
        self.plans = plans
        self.listed_until = listed_until
        self.now = now
        self.window = window
        self._counts: dict[Group, int] = {}

    def slots(self, plan_name: str, rule_name: str, newest: datetime) -> int:
        """0 for a rule no longer configured or a table whose backups had stopped before the last window."""
        plan = self.plans.get(plan_name)
        rule = None if plan is None else plan.rule(rule_name)
        if rule is None or self.listed_until is None:
            return 0
        if newest < self.listed_until - max(self.window, rule.schedule.interval):
            return 0  # nothing in the last window: the table is no longer backed up by this rule
        key = (plan_name, rule_name)
        if key not in self._counts:
            from zoneinfo import ZoneInfo  # here, not at import: zoneinfo pulls in sysconfig, a cold-start cost

            zone = ZoneInfo(rule.timezone)
            self._counts[key] = len(run_times(rule.schedule.expression, self.listed_until, self.now, zone))
        return self._counts[key]
