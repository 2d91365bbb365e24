"""Backup plans: the `tablesafe:plans` configuration as frozen dataclasses, validated once.

The same parser serves `cdk synth` (infra/config.py), the functions at cold start (settings.py) and the CLI, so a
plan that synthesizes is a plan the functions accept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tablesafe.config.schedule_expr import ScheduleExpression, parse_schedule

if TYPE_CHECKING:
    from tablesafe.config.drill import Drill

PLANS_KEY = "tablesafe:plans"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+\Z")  # \Z: `$` would also accept a trailing newline
MAX_NAME_LENGTH = 64
RULE_KEYS = frozenset({"name", "schedule", "retentionDays", "minKeep", "timezone", "target"})
TARGETS = ("backup", "export")  # what a rule makes at its schedule: an on-demand backup or an export to S3
PLAN_OBJECT_KEYS = frozenset({"rules", "pitr", "drill"})
PITR_KEYS = frozenset({"enabled", "recoveryPeriodDays"})


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key, the bad value and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key}: {value!r} is not allowed; {allowed}")


@dataclass(frozen=True)
class Rule:
    """One schedule of a plan and how long its backups are kept."""

    name: str
    schedule: ScheduleExpression
    retention_days: int
    min_keep: int
    timezone: str = "UTC"
    target: str = "backup"

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    @property
    def exports(self) -> bool:
        """True when the rule exports its tables to S3 rather than taking on-demand backups."""
        return self.target == "export"

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "schedule": self.schedule.expression,
            "retentionDays": self.retention_days,
            "minKeep": self.min_keep,
            "timezone": self.timezone,
        }
        if self.exports:  # only when set, so a configuration without exports passes the functions the same JSON
            body["target"] = self.target
        return body


@dataclass(frozen=True)
class Pitr:
    """Point-in-time recovery a plan asks for on its tables."""

    enabled: bool
    recovery_period_days: int = 35


@dataclass(frozen=True)
class Plan:
    """A named set of rules; tables opt in by carrying the plan's name as their tag value."""

    name: str
    rules: tuple[Rule, ...]
    pitr: Pitr | None = None
    drill: Drill | None = None  # restore drills (config/drill.py); None: the plan's tables are not drilled

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"rules": [r.as_json() for r in self.rules]}
        if self.pitr is not None:
            body["pitr"] = {"enabled": self.pitr.enabled, "recoveryPeriodDays": self.pitr.recovery_period_days}
        if self.drill is not None:
            body["drill"] = self.drill.as_json()
        return body


Plans = Mapping[str, Plan]


def plans_as_json(plans: Plans) -> dict[str, Any]:
    """The canonical JSON form, as the stack passes it to the functions."""
    return {name: plan.as_json() for name, plan in sorted(plans.items())}


def parse_plans(
    raw: object, *, key: str = PLANS_KEY, check_timezone: Callable[[str], bool] | None = None
) -> dict[str, Plan]:
    """Validate the plans value; `check_timezone` (synth only) tells whether an IANA zone name exists."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(key, raw, "expected a non-empty object of plan name -> list of rules")
    plans: dict[str, Plan] = {}
    for plan_name, body in raw.items():
        plan_key = f"{key}.{plan_name}"
        _check_name(plan_key, plan_name, "plan name")
        plans[plan_name] = _parse_plan(plan_key, plan_name, body, check_timezone)
    return plans


def _parse_plan(key: str, name: str, body: object, check_timezone: Callable[[str], bool] | None) -> Plan:
    pitr: Pitr | None = None
    drill: Drill | None = None
    if isinstance(body, Mapping):
        unknown = sorted(set(body) - PLAN_OBJECT_KEYS)
        if unknown:
            raise ConfigError(
                f"{key}.{unknown[0]}", body[unknown[0]], f"a plan object has only {sorted(PLAN_OBJECT_KEYS)}"
            )
        if "pitr" in body:
            pitr = _parse_pitr(f"{key}.pitr", body["pitr"])
        if "drill" in body:
            from tablesafe.config.drill import parse_drill  # drill.py imports ConfigError from here

            drill = parse_drill(f"{key}.drill", body["drill"])
        rules_raw = body.get("rules")
        key = f"{key}.rules"
    else:
        rules_raw = body
    if not isinstance(rules_raw, list) or not rules_raw:
        raise ConfigError(key, rules_raw, "expected a non-empty list of rules")
    rules: list[Rule] = []
    for index, rule_raw in enumerate(rules_raw):
        rule = _parse_rule(f"{key}[{index}]", rule_raw, check_timezone)
        if any(r.name == rule.name for r in rules):
            raise ConfigError(f"{key}[{index}].name", rule.name, "rule names must be unique within a plan")
        rules.append(rule)
    _check_exports_have_pitr(key, name, rules, pitr)
    return Plan(name=name, rules=tuple(rules), pitr=pitr, drill=drill)


def _check_exports_have_pitr(key: str, plan: str, rules: list[Rule], pitr: Pitr | None) -> None:
    # ExportTableToPointInTime refuses a table without PITR (PointInTimeRecoveryUnavailableException): an export
    # rule on a plan that does not turn it on would fail at every run, so synth refuses it.
    if pitr is not None and pitr.enabled:
        return
    for index, rule in enumerate(rules):
        if rule.exports:
            raise ConfigError(
                f"{key}[{index}].target",
                rule.target,
                f"rule {rule.name!r} of plan {plan!r} exports to S3, which needs point-in-time recovery: give the plan "
                '"pitr": {"enabled": true} (and its rules under "rules")',
            )


def _parse_rule(key: str, raw: object, check_timezone: Callable[[str], bool] | None) -> Rule:
    if not isinstance(raw, Mapping):
        raise ConfigError(key, raw, "expected an object with name, schedule, retentionDays and minKeep")
    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", raw[unknown[0]], f"a rule has only the keys {sorted(RULE_KEYS)}")
    for required in ("name", "schedule", "retentionDays", "minKeep"):
        if required not in raw:
            raise ConfigError(f"{key}.{required}", None, "this key is required")
    name = raw["name"]
    _check_name(f"{key}.name", name, "rule name")
    schedule_raw = raw["schedule"]
    if not isinstance(schedule_raw, str):
        raise ConfigError(f"{key}.schedule", schedule_raw, "expected a cron(...) or rate(...) expression")
    try:
        schedule = parse_schedule(schedule_raw)
    except ValueError as error:
        raise ConfigError(f"{key}.schedule", schedule_raw, str(error)) from None
    retention = _positive_int(f"{key}.retentionDays", raw["retentionDays"])
    min_keep = _positive_int(f"{key}.minKeep", raw["minKeep"])
    timezone = raw.get("timezone", "UTC")
    if not isinstance(timezone, str) or not timezone or (check_timezone is not None and not check_timezone(timezone)):
        raise ConfigError(f"{key}.timezone", timezone, "expected an IANA time zone name such as 'Europe/Paris'")
    target = raw.get("target", "backup")
    if target not in TARGETS:
        raise ConfigError(f"{key}.target", target, f"expected one of {', '.join(repr(t) for t in TARGETS)}")
    return Rule(
        name=name, schedule=schedule, retention_days=retention, min_keep=min_keep, timezone=timezone, target=target
    )


def _parse_pitr(key: str, raw: object) -> Pitr:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("enabled"), bool):
        raise ConfigError(key, raw, 'expected {"enabled": true|false, "recoveryPeriodDays": 1..35}')
    unknown = sorted(set(raw) - PITR_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", raw[unknown[0]], f"pitr has only the keys {sorted(PITR_KEYS)}")
    days = raw.get("recoveryPeriodDays", 35)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 35:
        raise ConfigError(f"{key}.recoveryPeriodDays", days, "expected an integer from 1 to 35")
    return Pitr(enabled=raw["enabled"], recovery_period_days=days)


def _check_name(key: str, value: object, what: str) -> None:
    if not isinstance(value, str) or not NAME_PATTERN.match(value) or len(value) > MAX_NAME_LENGTH:
        raise ConfigError(key, value, f"a {what} is 1-{MAX_NAME_LENGTH} characters of letters, digits, '_' and '-'")


def _positive_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(key, value, "expected an integer >= 1")
    return value
