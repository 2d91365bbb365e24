"""The counts the alarms watch are emitted on every run, 0 included, so an alarm that keeps its state between runs
goes back to OK at the first run without the problem (infra/monitoring.py)."""

from __future__ import annotations

import pytest

from tools.standin.support import create_table

pytestmark = pytest.mark.xdist_group("e2e")
DAILY = {"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": "2026-11-27T03:00:00Z"}


def _service_only(invocation):
    return [
        line
        for line in invocation.log_lines
        if line.get("_aws", {}).get("CloudWatchMetrics", [{}])[0].get("Dimensions") == [["service"]]
    ]


def test_a_clean_run_reports_zero_unknown_plan_tables_and_lease_problems_for_the_one_alarm(runner, standin):
    create_table(standin.client("dynamodb"), "orders", {"backup-plan": "daily"})

    invocation = runner.invoke("tablesafe-backup", DAILY)

    assert invocation.ok, invocation.error
    (document,) = _service_only(invocation)
    assert document["UnknownPlanTables"] in (0, [0]) and document["SlotLeaseUnavailable"] in (0, [0])


def test_a_run_with_an_unknown_plan_tag_counts_it_under_the_service_alone(runner, standin):
    create_table(standin.client("dynamodb"), "odd", {"backup-plan": "dialy"})

    invocation = runner.invoke("tablesafe-backup", DAILY)

    (document,) = _service_only(invocation)
    assert document["UnknownPlanTables"] in (1, [1])
