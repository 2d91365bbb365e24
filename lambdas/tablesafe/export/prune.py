"""Pruning exports by the rules of backups: only ours, only past retention, never the newest minKeep of a table and
rule, nothing on an incomplete listing.

Ours: a key under this account's and region's folder whose slot prefix parses (rules/export_naming.py) *and* whose
slot holds tablesafe's `tablesafe-table.json`: the name and the type, fenced twice as backups are (IAM lets the
prune role delete only under the folder). A slot counts towards minKeep once its export completed (its
`manifest-summary.json` is there); slots of a plan or rule no longer configured, or of a backup rule, are kept
(reported as orphaned). A deletion removes every version of every object of the slot (S3 Object Lock allows it
once the bucket's default retention, the shortest export retention, has passed; what it still holds is reported
and retried the next day). The listing is taken whole before anything is decided: a page that fails raises.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tablesafe.aws.exports import ExportGateway, ObjectVersion
from tablesafe.config.plans import Plan
from tablesafe.observability import logger
from tablesafe.rules.export_naming import SETTINGS_FILE, ExportSlot, account_prefix, parse_slot_prefix
from tablesafe.rules.storage import BYTES_PER_GB

SUMMARY_FILE = "manifest-summary.json"


@dataclass
class SlotObjects:
    """What the listing found of one slot."""

    slot: ExportSlot
    versions: list[ObjectVersion] = field(default_factory=list)

    @property
    def ours(self) -> bool:
        return any(v.key == self.slot.settings_key for v in self.versions)

    @property
    def completed(self) -> bool:
        return any(
            v.key.startswith(self.slot.exports_folder) and v.key.endswith(f"/{SUMMARY_FILE}") for v in self.versions
        )

    @property
    def size(self) -> int:
        return sum(v.size for v in self.versions)


@dataclass(frozen=True)
class SlotDecision:
    slot: ExportSlot
    delete: bool
    reason: str


@dataclass
class ExportPruneReport:
    """What one prune of the archive decided and did."""

    deleted: list[str] = field(default_factory=list)  # slot prefixes
    kept: int = 0
    orphaned: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # versions S3 would not delete
    stored_bytes: int = 0
    dry_run: bool = False

    def monthly_cost(self, price_per_gb_month: float) -> float:
        """USD a month for what the archive still holds of this account and region (every version, kept slots)."""
        return self.stored_bytes / BYTES_PER_GB * price_per_gb_month

    def failure(self) -> str | None:
        if not self.refused:
            return None
        return f"{len(self.refused)} archive object version(s) could not be deleted: {'; '.join(self.refused[:5])}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "exportsDeleted": len(self.deleted),
            "exportsKept": self.kept,
            "orphanedExports": self.orphaned,
            "refused": self.refused,
            "storedBytes": self.stored_bytes,
            "dryRun": self.dry_run,
        }


def group_by_slot(versions: Iterable[ObjectVersion]) -> list[SlotObjects]:
    """The listing's versions, by the export slot they belong to; keys of no slot are left out (not ours)."""
    slots: dict[str, SlotObjects] = {}
    for version in versions:
        slot = parse_slot_prefix(version.key)
        if slot is not None:
            slots.setdefault(slot.prefix, SlotObjects(slot)).versions.append(version)
    return list(slots.values())


def decide(slots: Iterable[SlotObjects], plans: Mapping[str, Plan], now: datetime) -> list[SlotDecision]:
    """Pure: which slots go. Per (table, plan, rule), newest first; the newest minKeep completed ones stay."""
    groups: dict[tuple[str, str, str], list[SlotObjects]] = defaultdict(list)
    decisions: list[SlotDecision] = []
    for found in slots:
        if not found.ours:
            decisions.append(SlotDecision(found.slot, False, "no tablesafe-table.json: not a slot tablesafe wrote"))
            continue
        groups[(found.slot.table, found.slot.plan, found.slot.rule)].append(found)
    for (_, plan_name, rule_name), members in groups.items():
        plan = plans.get(plan_name)
        rule = plan.rule(rule_name) if plan is not None else None
        if rule is None or not rule.exports:
            decisions.extend(
                SlotDecision(m.slot, False, "orphaned: its plan or export rule is not configured") for m in members
            )
            continue
        completed_rank = 0
        for member in sorted(members, key=lambda m: m.slot.slot, reverse=True):
            if member.completed:
                completed_rank += 1
            if member.completed and completed_rank <= rule.min_keep:
                decisions.append(
                    SlotDecision(member.slot, False, f"one of the newest {rule.min_keep} exports (minKeep)")
                )
            elif member.slot.slot + timedelta(days=rule.retention_days) > now:
                decisions.append(SlotDecision(member.slot, False, "within retention"))
            else:
                decisions.append(SlotDecision(member.slot, True, f"older than {rule.retention_days} days"))
    return decisions


def prune_exports(
    exports: ExportGateway, plans: Mapping[str, Plan], account: str, now: datetime, *, dry_run: bool = False
) -> ExportPruneReport:
    """List this account's and region's folder whole, decide, delete (nothing in a dry run)."""
    report = ExportPruneReport(dry_run=dry_run)
    slots = group_by_slot(exports.list_versions(account_prefix(account, exports.region)))
    by_prefix = {s.slot.prefix: s for s in slots}
    for decision in decide(slots, plans, now):
        found = by_prefix[decision.slot.prefix]
        if decision.reason.startswith("orphaned"):
            report.orphaned.append(decision.slot.prefix)
        if not decision.delete:
            report.kept += 1
            report.stored_bytes += found.size
            continue
        logger.info(
            "export would be deleted" if dry_run else "export deleted",
            table=decision.slot.table,
            plan=decision.slot.plan,
            rule=decision.slot.rule,
            slot=decision.slot.slot.isoformat(),
            prefix=decision.slot.prefix,
            reason=decision.reason,
        )
        if not dry_run:
            refused = exports.delete_versions(found.versions)
            report.refused.extend(refused)
            if refused:
                logger.error(
                    "export not wholly deleted",
                    table=decision.slot.table,
                    prefix=decision.slot.prefix,
                    refused=refused[:5],
                )
        report.deleted.append(decision.slot.prefix)
    return report


__all__ = [
    "SETTINGS_FILE",
    "ExportPruneReport",
    "SlotDecision",
    "SlotObjects",
    "decide",
    "group_by_slot",
    "prune_exports",
]
