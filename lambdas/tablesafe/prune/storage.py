"""Per plan, what an invocation's share of the backups holds once its deletions are done (docs/cost.md)."""

from __future__ import annotations

from collections.abc import Mapping

from tablesafe.config.plans import Plan
from tablesafe.prune.estimate import TailEstimate
from tablesafe.prune.recent import RecentProof, TableTally
from tablesafe.prune.report import PlanStorage


def storage_by_plan(
    plans: Mapping[str, Plan],
    kept: Mapping[str, TableTally],
    own: Mapping[str, TableTally],
    proof: RecentProof | None,
) -> dict[str, PlanStorage]:
    """The share: the expired windows this invocation finished (`kept`: what they still hold) and, for the run's
    last invocation only, what the tables it listed on their own hold since the cutoff (`own`: all of it) and what
    the proof listed since the cutoff of the other tables plus an estimate of the slots after its last
    window, for each (table, plan, rule) backed up in that window, at the size of its newest backup. So
    continuations do not count a backup twice. What lies beyond the cursor of a run that stops for the day is not
    counted here: it is the backlog (tablesafe.prune.backlog)."""
    storage = {plan: PlanStorage() for plan in plans}
    for groups in (*kept.values(), *own.values()):
        _add(storage, groups)
    if proof is not None:
        tail = None if proof.complete else TailEstimate(plans, proof.listed_until, proof.now, proof.window)
        for table, groups in proof.recent.items():
            if table not in own:
                _add(storage, groups, tail)
    return storage


def _add(storage: dict[str, PlanStorage], groups: TableTally, tail: TailEstimate | None = None) -> None:
    for (plan_name, rule_name), group in groups.items():
        plan = storage.setdefault(plan_name, PlanStorage())  # a plan no longer configured still costs
        plan.backups += group.backups
        plan.bytes += group.bytes
        slots = 0 if tail is None or group.newest is None else tail.slots(plan_name, rule_name, group.newest)
        plan.backups += slots
        plan.estimated_backups += slots
        plan.bytes += slots * group.newest_size
