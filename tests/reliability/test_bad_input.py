"""Bad input: a wrong cdk.json value stops synth naming the key; a malformed tag value skips only its table, with a
metric; a garbled event fails fast and touches nothing; an answer missing optional fields does not crash a run and
errs on the side of keeping backups.

Each class of invalid cdk.json value has its own test in tests/infra/test_infra_config.py; here two of them go
through app.py as `cdk synth` runs it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from tablesafe.aws.clients import backup_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.backup.run import BackupRequest, EventError, Outcome, run_backup
from tablesafe.observability import logger
from tablesafe.prune.report import PruneRequest
from tablesafe.prune.run import run_prune
from tablesafe.runtime import backup_handler, prune_handler
from tablesafe.runtime.cold_start import backup_leases, cold_start
from tests.reliability.support import (
    ENV,
    FAST,
    SMALL,
    TAG_KEY,
    build_account,
    faults_on,
    settings,
    slot_backups_by_table,
    slot_name,
)
from tools.lambda_runner import synthesize
from tools.standin import StandIn
from tools.standin.support import create_table, list_all_backups

SLOT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
RULE = {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}

# -- cdk.json ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "key"),
    [
        ({"tablesafe:plans": {"daily": [{**RULE, "minKeep": 0}]}}, "tablesafe:plans.daily[0].minKeep"),
        ({"tablesafe:tagKey": "aws:backup-plan"}, "tablesafe:tagKey"),
    ],
    ids=["rule-value", "top-level-value"],
)
def test_a_wrong_cdk_json_value_stops_synth_naming_the_key(tmp_path: Path, context: dict[str, Any], key: str) -> None:
    with pytest.raises(RuntimeError) as raised:
        synthesize(tmp_path, {"tablesafe:regions": ["eu-west-1"], **context})

    assert f"tablesafe: configuration error: {key}: " in str(raised.value)
    assert list(tmp_path.glob("*.template.json")) == []


# -- the handlers, as Lambda calls them ----------------------------------------------------------------------------


class Context:
    function_name = "tablesafe-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tablesafe-test"
    aws_request_id = "request-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


@pytest.fixture
def handler_environment(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The functions' environment, with rate limits the stand-in can take at full speed."""
    for name, value in {**ENV, "TABLESAFE_RATE_LIMITS": json.dumps(FAST)}.items():
        monkeypatch.setenv(name, value)
    cold_start.cache_clear()
    backup_leases.cache_clear()
    yield
    cold_start.cache_clear()
    backup_leases.cache_clear()


def emf_documents(output: str) -> list[dict[str, Any]]:
    """Each EMF document in captured stdout, as {metric or dimension name: value}."""
    documents = []
    for line in output.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            names = [m["Name"] for m in directive["Metrics"]] + directive["Dimensions"][0]
            values = {name: document[name] for name in names}
            documents.append({k: sum(v) if isinstance(v, list) else v for k, v in values.items()})
    return documents


def test_malformed_tag_values_skip_only_their_tables_and_are_counted(
    standin: StandIn,
    handler_environment: None,
    fast_retries: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    account = build_account(standin, SMALL, broken=False)
    faults_on(standin)
    event = {"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": "2026-11-27T03:00:00Z"}

    result = backup_handler.lambda_handler(event, Context())

    assert sorted(slot_backups_by_table(standin, slot_name("daily", "daily", SLOT))) == account.healthy
    assert result["unknownPlan"] == account.malformed and result["failed"] == {}
    output = capsys.readouterr().out
    documents = emf_documents(output)
    (run,) = [d for d in documents if d.get("Plan") == "daily" and d.get("Rule") == "daily"]
    assert run["BackupsCreated"] == len(account.healthy) and run["TablesFailed"] == 0
    assert run["BackupRunsSucceeded"] == 1
    counted = [d["UnknownPlanTables"] for d in documents if "UnknownPlanTables" in d]
    assert counted and set(counted) == {len(account.malformed)} == {6}  # each document that counts them, rightly
    logged = [json.loads(line) for line in log.getvalue().splitlines() if "unknown plan" in line]
    assert {(line["table"], line["tag_value"]) for line in logged} == set(account.malformed.items())


BAD_BACKUP_EVENTS = [
    ({}, "job=None"),
    ({"job": "prune", "plan": "daily", "rule": "daily"}, "job='prune'"),
    ({"job": ["backup"], "plan": "daily", "rule": "daily"}, "job=['backup']"),
    ({"job": "backup", "rule": "daily"}, "plan=None"),
    ({"job": "backup", "plan": "", "rule": "daily"}, "plan=''"),
    ({"job": "backup", "plan": {"name": "daily"}, "rule": "daily"}, "plan={'name': 'daily'}"),
    ({"job": "backup", "plan": "nightly", "rule": "daily"}, "plan='nightly' is not configured"),
    ({"job": "backup", "plan": "daily"}, "rule=None"),
    ({"job": "backup", "plan": "daily", "rule": 3}, "rule=3"),
    ({"job": "backup", "plan": "daily", "rule": "weekly"}, "rule='weekly' is not a rule of plan 'daily'"),
    ({"job": "backup", "plan": "daily", "rule": "daily", "scheduledTime": "tomorrow"}, "scheduledTime='tomorrow'"),
    ({"job": "backup", "plan": "daily", "rule": "daily", "continuation": -1}, "continuation=-1"),
    ("backup daily daily", "must be a JSON object"),
    (None, "must be a JSON object"),
]
BAD_PRUNE_EVENTS = [
    ({}, "job=None"),
    ({"job": "backup", "plan": "daily", "rule": "daily"}, "job='backup'"),
    ({"job": "Prune"}, "job='Prune'"),
    ({"job": "prune", "scheduledTime": 1717300000}, "scheduledTime=1717300000"),
    ({"job": "prune", "startAfter": ""}, "startAfter=''"),
    ({"job": "prune", "continuation": "1"}, "continuation='1'"),
    ([{"job": "prune"}], "must be a JSON object"),
]


@pytest.fixture
def populated(standin: StandIn) -> Callable[[], dict[str, Any]]:
    """Tables to back up and expired backups to prune; returns a look at every backup the account holds."""
    ddb = standin.client("dynamodb")
    for table in ("orders", "carts", "users"):
        create_table(ddb, table, {TAG_KEY: "daily"})
    old = datetime(2024, 1, 1, 3, tzinfo=UTC)
    for day in range(10):
        slot = old + timedelta(days=day)
        arn = ddb.create_backup(TableName="orders", BackupName=slot_name("daily", "daily", slot))
        standin.set_backup_created(arn["BackupDetails"]["BackupArn"], slot)
    return lambda: {s["BackupArn"]: s["BackupStatus"] for s in list_all_backups(ddb, BackupType="ALL")[0]}


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize(("event", "names"), BAD_BACKUP_EVENTS, ids=[n for _, n in BAD_BACKUP_EVENTS])
def test_a_garbled_backup_event_fails_fast_naming_the_key_and_touches_nothing(
    standin: StandIn, handler_environment: None, populated: Callable[[], dict[str, Any]], event: Any, names: str
) -> None:
    before = populated()
    standin.calls.reset()

    with pytest.raises(EventError) as raised:
        backup_handler.lambda_handler(event, Context())

    assert names in str(raised.value)
    assert standin.calls.snapshot() == {}, "not a single AWS call"
    assert populated() == before


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize(("event", "names"), BAD_PRUNE_EVENTS, ids=[n for _, n in BAD_PRUNE_EVENTS])
def test_a_garbled_prune_event_fails_fast_naming_the_key_and_touches_nothing(
    standin: StandIn, handler_environment: None, populated: Callable[[], dict[str, Any]], event: Any, names: str
) -> None:
    before = populated()
    standin.calls.reset()

    with pytest.raises(EventError) as raised:
        prune_handler.lambda_handler(event, Context())

    assert names in str(raised.value)
    assert standin.calls.snapshot() == {}, "not a single AWS call"
    assert populated() == before


# -- answers missing optional fields -------------------------------------------------------------------------------

ACCOUNT = "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"


def backup_arn(n: int) -> str:
    return f"{TABLE_ARN}/backup/0000000000000{n:04d}-abcdefgh"


def summary(n: int, created: datetime, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    full = {
        "TableName": "orders",
        "TableArn": TABLE_ARN,
        "BackupArn": backup_arn(n),
        "BackupName": slot_name("daily", "daily", created),
        "BackupCreationDateTime": created,
        "BackupStatus": "AVAILABLE",
        "BackupType": "USER",
        "BackupSizeBytes": 1000,
    }
    return {k: v for k, v in full.items() if k not in without}


def test_a_backup_run_survives_answers_without_their_optional_fields(standin: StandIn) -> None:
    clients = backup_clients(rate_limits=FAST)
    gw = DynamoDbGateway(clients)
    request = BackupRequest("daily", "daily", SLOT)
    name = slot_name("daily", "daily", SLOT)
    with Stubber(clients.tagging) as tagging, Stubber(clients.dynamodb) as dynamodb, Stubber(clients.create) as create:
        tagging.add_response(
            "get_resources",
            {
                "ResourceTagMappingList": [
                    {"ResourceARN": TABLE_ARN, "Tags": [{"Key": "backup-plan", "Value": "daily"}]},
                    {"ResourceARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/no-tags"},  # Tags left out
                    {"Tags": [{"Key": "backup-plan", "Value": "daily"}]},  # no ARN: nothing to back up
                ]
            },
        )
        dynamodb.add_response("list_backups", {}, {"BackupType": "USER", "Limit": 100, "TimeRangeLowerBound": SLOT})
        dynamodb.add_response("describe_table", {"Table": {}}, {"TableName": "orders"})  # no status, no replicas
        create.add_response(  # no BackupSizeBytes
            "create_backup",
            {
                "BackupDetails": {
                    "BackupArn": backup_arn(1),
                    "BackupName": name,
                    "BackupStatus": "CREATING",
                    "BackupType": "USER",
                    "BackupCreationDateTime": SLOT,
                }
            },
            {"TableName": "orders", "BackupName": name},
        )

        report = run_backup(gw, settings(), request)

        for stub in (tagging, dynamodb, create):
            stub.assert_no_pending_responses()
    assert report.tables(Outcome.CREATED) == {"orders": "created"}
    assert report.unknown_plan == {"no-tags": ""}  # reported: its plan cannot be read
    assert report.failed == {}


def test_a_prune_keeps_what_an_answer_leaves_in_doubt(standin: StandIn) -> None:
    now = datetime(2026, 6, 30, 4, 30, tzinfo=UTC)
    days_ago = {n: now - timedelta(days=n, hours=1, minutes=30) for n in range(60)}
    expired = [
        summary(40, days_ago[40]),
        summary(41, days_ago[41]),
        summary(39, days_ago[39], without=("BackupCreationDateTime",)),  # age unknown: kept
        summary(38, days_ago[38], without=("BackupStatus",)),  # maybe not AVAILABLE: kept
    ]
    # the newest three (minKeep); the size of one unknown, which only the cost estimate reads
    recent = [summary(0, days_ago[0]), summary(1, days_ago[1]), summary(2, days_ago[2], without=("BackupSizeBytes",))]
    clients = backup_clients(rate_limits=FAST)
    gw = DynamoDbGateway(clients)
    with Stubber(clients.dynamodb) as dynamodb:
        # before the cutoff (the shortest retention, two days): the expired ones and the oldest of the newest three
        dynamodb.add_response("list_backups", {"BackupSummaries": expired + recent[2:]}, {
            "BackupType": "USER", "Limit": 100, "TimeRangeUpperBound": ANY,
        })  # fmt: skip
        # the days since the cutoff (the shortest retention, two days) for minKeep: too few to show three slots
        dynamodb.add_response("list_backups", {"BackupSummaries": []}, {
            "BackupType": "USER", "Limit": 100, "TimeRangeLowerBound": ANY, "TimeRangeUpperBound": ANY,
        })  # fmt: skip
        dynamodb.add_response("list_backups", {"BackupSummaries": []}, {
            "BackupType": "USER", "Limit": 100, "TimeRangeLowerBound": ANY,
        })  # fmt: skip
        dynamodb.add_response("list_backups", {"BackupSummaries": expired + recent}, {
            "BackupType": "USER", "Limit": 100, "TableName": "orders",
        })  # fmt: skip
        for n in (40, 41):
            dynamodb.add_response("delete_backup", {}, {"BackupArn": backup_arn(n)})

        report = run_prune(gw, settings(), PruneRequest(now), workers=1)

        dynamodb.assert_no_pending_responses()
    assert {d.backup_arn for d in report.deletions} == {backup_arn(40), backup_arn(41)}
    assert not report.failed
    assert report.storage["daily"].backups == 4 and report.storage["daily"].bytes == 3000
