"""The settings a restore drops (tags, TTL, PITR, auto scaling, stream, deletion protection), put back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tablesafe.aws.dynamodb import GatewayError
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
    name = target.name

    def pitr() -> SettingResult:
        if not settings.pitr.enabled:
            return SettingResult("point-in-time recovery", SettingOutcome.NOT_SET)
        for attempt in range(8):
            try:
                tables.enable_pitr(name, settings.pitr.recovery_period_days)
                break
            except GatewayError as error:
                if error.code != PITR_NOT_READY or attempt == 7:
                    raise
                sleep(min(30.0, 2.0 * 2**attempt))
        days = settings.pitr.recovery_period_days
        return SettingResult("point-in-time recovery", SettingOutcome.APPLIED, f"on, {days or 35} days")

    def ttl() -> SettingResult:
        if settings.ttl_attribute is None:
            return SettingResult("time to live", SettingOutcome.NOT_SET)
        tables.enable_ttl(name, settings.ttl_attribute)
        return SettingResult("time to live", SettingOutcome.APPLIED, f"attribute {settings.ttl_attribute}")

    def tags() -> SettingResult:
        # aws: tags belong to AWS (CloudFormation and others) and cannot be set by a user.
        wanted = {k: v for k, v in settings.tags.items() if not k.startswith("aws:")}
        dropped = ""
        if not keep_plan and tag_key in wanted:
            dropped = f"; left out {tag_key}={wanted.pop(tag_key)} (so the copy gets no backups; --keep-plan keeps it)"
        if not wanted:
            return SettingResult("tags", SettingOutcome.NOT_SET, dropped.lstrip("; "))
        tables.tag(target.arn, wanted)
        return SettingResult("tags", SettingOutcome.APPLIED, f"{len(wanted)}: {', '.join(sorted(wanted))}{dropped}")

    def scaling() -> SettingResult:
        if not settings.scaling:
            return SettingResult("auto scaling", SettingOutcome.NOT_SET)
        if target.billing_mode == "PAY_PER_REQUEST":
            return SettingResult("auto scaling", SettingOutcome.SKIPPED, "the restored table is on-demand")
        applied, policies = 0, 0
        for setup in settings.scaling:
            index = setup.suffix.removeprefix("/index/")
            if setup.suffix and index not in target.index_names:
                continue  # an index the backup did not have
            tables.apply_scaling(name, setup)
            applied += 1
            policies += len(setup.policies)
        return SettingResult("auto scaling", SettingOutcome.APPLIED, f"{applied} targets, {policies} policies")

    def stream() -> SettingResult:
        if settings.stream_view_type is None:
            return SettingResult("stream", SettingOutcome.NOT_SET)
        tables.enable_stream(name, settings.stream_view_type)
        tables.wait_active(name, timeout=timeout, poll=poll, sleep=sleep)
        return SettingResult(
            "stream", SettingOutcome.APPLIED, f"{settings.stream_view_type} (a new stream ARN: re-point its consumers)"
        )

    def deletion_protection() -> SettingResult:
        if not settings.deletion_protection:
            return SettingResult("deletion protection", SettingOutcome.NOT_SET)
        tables.enable_deletion_protection(name)
        tables.wait_active(name, timeout=timeout, poll=poll, sleep=sleep)
        return SettingResult("deletion protection", SettingOutcome.APPLIED, "on")

    # PITR first, so the new table's own history starts as early as possible; deletion protection last.
    steps: list[tuple[str, Callable[[], SettingResult]]] = [
        ("point-in-time recovery", pitr),
        ("time to live", ttl),
        ("tags", tags),
        ("auto scaling", scaling),
        ("stream", stream),
        ("deletion protection", deletion_protection),
    ]
    results: list[SettingResult] = []
    for setting, step in steps:
        try:
            results.append(step())
        except (GatewayError, TimeoutError) as error:
            results.append(SettingResult(setting, SettingOutcome.FAILED, str(error)))
    return results
