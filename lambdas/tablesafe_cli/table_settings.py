"""The settings a restore drops (tags, TTL, PITR, auto scaling, stream, deletion protection), put back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tablesafe.aws.dynamodb import GatewayError
from tablesafe.aws.retry import RetryPolicy
from tablesafe.aws.tables import (
    PitrState,
    ScalingSetup,
    TableDetails,
    TableGateway,
)

# Right after a table is created, UpdateContinuousBackups can answer this until the table's backups are set up.
PITR_NOT_READY = "ContinuousBackupsUnavailableException"


@dataclass(frozen=True)
class SourceSettings:
    """What a restore drops, as the source table has it now."""

    tags: dict[str, str]
    ttl_attribute: str | None
    pitr: PitrState
    scaling: tuple[ScalingSetup, ...]
    stream_view_type: str | None
    deletion_protection: bool


class SettingOutcome(StrEnum):
    """What happened to one setting on the new table."""

    APPLIED = "applied"
    NOT_SET = "not set on source"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class SettingResult:
    """One setting re-applied (or not) on the restored table."""

    setting: str
    outcome: SettingOutcome
    detail: str = ""


def read_settings(tables: TableGateway, name: str) -> SourceSettings:
    """The source's current settings that a restore drops; TableNotFound when it is gone."""
    details = tables.describe(name)
    return SourceSettings(
        tags=tables.tags(details.arn),
        ttl_attribute=tables.ttl_attribute(name),
        pitr=tables.pitr(name),
        scaling=tuple(tables.scaling(name)),
        stream_view_type=details.stream_view_type,
        deletion_protection=details.deletion_protection,
    )


def reapply_settings(
    tables: TableGateway,
    target: TableDetails,
    settings: SourceSettings,
    *,
    tag_key: str,
    keep_plan: bool,
    timeout: float = 3600,
    poll: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SettingResult]:
    """Apply each setting the source has; a failure is reported and the others are still applied."""
    steps = _Steps(tables, target, settings, tag_key, keep_plan, timeout, poll, sleep)
    # PITR first, so the new table's own history starts as early as possible; deletion protection last.
    order: list[tuple[str, Callable[[], SettingResult]]] = [
        ("point-in-time recovery", steps.pitr),
        ("time to live", steps.ttl),
        ("tags", steps.tags),
        ("auto scaling", steps.scaling),
        ("stream", steps.stream),
        ("deletion protection", steps.deletion_protection),
    ]
    results: list[SettingResult] = []
    for setting, step in order:
        try:
            results.append(step())
        except (GatewayError, TimeoutError) as error:
            results.append(SettingResult(setting, SettingOutcome.FAILED, str(error)))
    return results


@dataclass
class _Steps:
    """Each setting's re-application on the restored table, one method a setting."""

    tables: TableGateway
    target: TableDetails
    settings: SourceSettings
    tag_key: str
    keep_plan: bool
    timeout: float
    poll: float
    sleep: Callable[[float], None] = time.sleep

    def pitr(self) -> SettingResult:
        if not self.settings.pitr.enabled:
            return SettingResult("point-in-time recovery", SettingOutcome.NOT_SET)
        days = self.settings.pitr.recovery_period_days
        # Ten sends, 2 s doubling to at most 30 s between them: about a minute and a half on average, three at most.
        RetryPolicy(attempts=10, base=2.0, cap=30.0, sleep=self.sleep).call(
            lambda: self.tables.enable_pitr(self.target.name, days), retry_if=lambda e: e.code == PITR_NOT_READY
        )
        return SettingResult("point-in-time recovery", SettingOutcome.APPLIED, f"on, {days or 35} days")

    def ttl(self) -> SettingResult:
        if self.settings.ttl_attribute is None:
            return SettingResult("time to live", SettingOutcome.NOT_SET)
        self.tables.enable_ttl(self.target.name, self.settings.ttl_attribute)
        return SettingResult("time to live", SettingOutcome.APPLIED, f"attribute {self.settings.ttl_attribute}")

    def tags(self) -> SettingResult:
        # aws: tags belong to AWS (CloudFormation and others) and cannot be set by a user.
        wanted = {k: v for k, v in self.settings.tags.items() if not k.startswith("aws:")}
        dropped = ""
        if not self.keep_plan and self.tag_key in wanted:
            plan = wanted.pop(self.tag_key)
            dropped = f"; left out {self.tag_key}={plan} (so the copy gets no backups; --keep-plan keeps it)"
        if not wanted:
            return SettingResult("tags", SettingOutcome.NOT_SET, dropped.lstrip("; "))
        self.tables.tag(self.target.arn, wanted)
        return SettingResult("tags", SettingOutcome.APPLIED, f"{len(wanted)}: {', '.join(sorted(wanted))}{dropped}")

    def scaling(self) -> SettingResult:
        if not self.settings.scaling:
            return SettingResult("auto scaling", SettingOutcome.NOT_SET)
        if self.target.billing_mode == "PAY_PER_REQUEST":
            return SettingResult("auto scaling", SettingOutcome.SKIPPED, "the restored table is on-demand")
        applied, policies = 0, 0
        for setup in self.settings.scaling:
            index = setup.suffix.removeprefix("/index/")
            if setup.suffix and index not in self.target.index_names:
                continue  # an index the backup did not have
            self.tables.apply_scaling(self.target.name, setup)
            applied += 1
            policies += len(setup.policies)
        return SettingResult("auto scaling", SettingOutcome.APPLIED, f"{applied} targets, {policies} policies")

    def stream(self) -> SettingResult:
        view_type = self.settings.stream_view_type
        if view_type is None:
            return SettingResult("stream", SettingOutcome.NOT_SET)
        self.tables.enable_stream(self.target.name, view_type)
        self._wait_active()
        detail = f"{view_type} (a new stream ARN: re-point its consumers)"
        return SettingResult("stream", SettingOutcome.APPLIED, detail)

    def deletion_protection(self) -> SettingResult:
        if not self.settings.deletion_protection:
            return SettingResult("deletion protection", SettingOutcome.NOT_SET)
        self.tables.enable_deletion_protection(self.target.name)
        self._wait_active()
        return SettingResult("deletion protection", SettingOutcome.APPLIED, "on")

    def _wait_active(self) -> None:
        self.tables.wait_active(self.target.name, timeout=self.timeout, poll=self.poll, sleep=self.sleep)
