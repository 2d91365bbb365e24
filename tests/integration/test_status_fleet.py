"""The many-account scan (tablesafe_cli/fleet.py) with its connections injected: targets that cannot be reached, last
drills read or not, last exports, on the stand-in."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from tablesafe.aws.clients import BackupClients, TableClients, backup_clients, client_config, table_clients
from tablesafe.aws.drill_records import DrillRecord, DrillRecords
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.errors import GatewayError
from tablesafe.aws.export_reads import ExportReads
from tablesafe.aws.tables import TableGateway
from tablesafe.config.plans import parse_plans
from tablesafe_cli.config import CliConfig
from tablesafe_cli.coverage import FlagKind
from tablesafe_cli.fleet import Connection, FleetProgress, Target, scan_targets
from tablesafe_cli.status_scan import ScanGateways, scan_region
from tests.lease_support import LEASE_TABLE, create_lease_table
from tools.standin.support import create_table

ACCOUNT = "123456789012"
RULES = [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}]
CONFIG = CliConfig(plans=parse_plans({"daily": {"rules": RULES, "drill": {"everyDays": 7}}}))
NOW = datetime.now(UTC)


def gateways(region: str = "us-east-1") -> ScanGateways:
    session = boto3.Session(region_name=region)  # the stand-in, through AWS_ENDPOINT_URL
    return ScanGateways(tables=TableGateway(table_clients(session)), backups=DynamoDbGateway(backup_clients(session)))


def dead_client(service: str, region: str, *, retries: int = 1):
    """A client whose endpoint refuses every connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # closed again below: nothing listens there
    config = client_config(max_attempts=retries, max_connections=4)
    return boto3.Session(region_name=region).client(service, endpoint_url=url, config=config)


def dead_gateways(region: str) -> ScanGateways:
    """Gateways whose endpoints refuse every connection."""
    dynamodb, once = dead_client("dynamodb", region), dead_client("dynamodb", region, retries=0)
    return ScanGateways(
        tables=TableGateway(TableClients(dynamodb, once, dead_client("application-autoscaling", region))),
        backups=DynamoDbGateway(BackupClients(dynamodb, once, dead_client("resourcegroupstaggingapi", region))),
    )


@pytest.fixture
def ddb(standin):
    create_table(standin.client("dynamodb"), "orders", {"backup-plan": "daily"})
    create_table(standin.client("dynamodb"), "ledger", {"backup-plan": "daily"})
    return standin.client("dynamodb")


def test_a_target_that_cannot_be_reached_is_listed_with_its_error_and_the_others_are_scanned(ddb):
    def connect(target: Target) -> Connection:
        return Connection(dead_gateways(target.region) if target.region == "eu-west-2" else gateways(target.region))

    seen: list[tuple[int, int]] = []
    progress = FleetProgress(lambda done, total: seen.append((done, total)), lambda done, total: None)
    fleet = scan_targets(
        [Target(ACCOUNT, "us-east-1"), Target(ACCOUNT, "eu-west-2")], connect, config=CONFIG, now=NOW, progress=progress
    )

    assert [(t.scan.region, [s.name for s in t.scan.statuses]) for t in fleet.scans] == [
        ("us-east-1", ["ledger", "orders"])
    ]
    (error,) = fleet.unreachable
    assert (error.account, error.region) == (ACCOUNT, "eu-west-2")
    assert error.error.startswith("cannot reach AWS") and "127.0.0.1" in error.error
    assert seen[-1] == (2, 2)


def test_a_connection_refused_before_any_scan_is_unreachable(ddb):
    def connect(target: Target) -> Connection:
        raise GatewayError("AssumeRole", "AccessDenied", f"not authorized on arn:aws:iam::{target.account}:role/R")

    fleet = scan_targets([Target("111122223333", "us-east-1")], connect, config=CONFIG, now=NOW)

    assert fleet.scans == []
    (error,) = fleet.unreachable
    assert error.error == "AssumeRole: access denied: not authorized on arn:aws:iam::111122223333:role/R"


def test_the_last_drills_are_read_through_the_targets_connection(ddb):
    create_lease_table(ddb)
    records = DrillRecords(LEASE_TABLE, client=ddb)
    records.put(DrillRecord("orders", "daily", "passed", NOW - timedelta(days=2), "ok", 60.0, "arn:b"))
    records.put(DrillRecord("ledger", "daily", "passed", NOW - timedelta(days=30), "ok", 60.0, "arn:b"))

    fleet = scan_targets(
        [Target(ACCOUNT, "us-east-1")],
        lambda target: Connection(gateways(), drill_records=lambda: records),
        config=CONFIG,
        now=NOW,
    )

    (target,) = fleet.scans
    assert target.drills_known and target.scan.drills["orders"].verdict == "passed"
    kinds = {s.name: {f.kind for f in s.issues} for s in target.scan.statuses}
    assert FlagKind.DRILL in kinds["ledger"] and FlagKind.DRILL not in kinds["orders"]
    assert fleet.errors == []


def test_last_drills_that_cannot_be_read_leave_the_tables_shown_and_the_target_incomplete(ddb):
    def refused() -> DrillRecords:
        raise GatewayError("GetFunctionConfiguration", "AccessDeniedException", "no lambda:GetFunctionConfiguration")

    fleet = scan_targets(
        [Target(ACCOUNT, "us-east-1")],
        lambda target: Connection(gateways(), drill_records=refused),
        config=CONFIG,
        now=NOW,
    )

    (target,) = fleet.scans
    assert not target.drills_known and [s.name for s in target.scan.statuses] == ["ledger", "orders"]
    assert fleet.unreachable == []
    (error,) = fleet.incomplete
    assert error.what == "last drills" and "GetFunctionConfiguration: access denied" in error.error


def test_the_last_export_is_the_newest_completed_one_tablesafe_made(standin, ddb):
    monthly = {
        "name": "monthly",
        "schedule": "cron(0 4 1 * ? *)",
        "retentionDays": 365,
        "minKeep": 1,
        "target": "export",
    }
    plans = {"daily": {"rules": RULES}, "vault": {"rules": [monthly], "pitr": {"enabled": True}}}
    config = CliConfig(plans=parse_plans(plans))
    create_table(ddb, "archive", {"backup-plan": "vault"})
    ddb.update_continuous_backups(
        TableName="archive", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    standin.client("s3").create_bucket(Bucket="vault")
    arn = ddb.describe_table(TableName="archive")["Table"]["TableArn"]
    exported = []
    for slot in ("20261001T0400Z", "20261101T0400Z"):
        prefix = f"tablesafe/{ACCOUNT}/us-east-1/archive/vault/monthly/{slot}"
        answer = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="vault", S3Prefix=prefix)
        exported.append(answer["ExportDescription"]["ExportArn"])
    standin.complete_exports()
    reads = ExportReads(dynamodb=ddb, s3=None)

    fleet = scan_targets(
        [Target(ACCOUNT, "us-east-1")],
        lambda target: Connection(gateways(), exports=reads, table_arn=lambda name: arn.replace("archive", name)),
        config=config,
        now=NOW,
    )

    (target,) = fleet.scans
    assert target.exports is not None and target.exports["archive"].arn == exported[1]
    assert set(target.exports) == {"archive"}  # orders and ledger's plan does not export


class Spy:
    def __init__(self) -> None:
        self.found: list[int] = []
        self.read = 0

    def listed(self, tables: int) -> None:
        self.found.append(tables)

    def advance(self) -> None:
        self.read += 1


def test_the_scan_reads_its_clock_once_and_reports_the_tables_it_found_and_read(ddb):
    spy = Spy()
    times = iter([NOW])

    scan = scan_region(
        gateways(), region="us-east-1", account=ACCOUNT, config=CONFIG, clock=lambda: next(times), progress=spy
    )

    assert (scan.account, scan.region, scan.time) == (ACCOUNT, "us-east-1", NOW)
    assert [s.name for s in scan.statuses] == ["ledger", "orders"]
    assert spy.found == [2] and spy.read == 2


def test_access_denied_on_a_list_call_makes_the_target_unreachable(ddb):
    session = boto3.Session(region_name="us-east-1")
    clients = table_clients(session)
    stubber = Stubber(clients.dynamodb)
    stubber.add_client_error("list_tables", "AccessDeniedException", "not authorized to perform: dynamodb:ListTables")
    stubber.activate()
    connection = Connection(
        ScanGateways(tables=TableGateway(clients), backups=DynamoDbGateway(backup_clients(session)))
    )

    fleet = scan_targets([Target(ACCOUNT, "us-east-1")], lambda target: connection, config=CONFIG, now=NOW)

    assert fleet.scans == []
    (error,) = fleet.unreachable
    assert error.error == "ListTables: access denied: not authorized to perform: dynamodb:ListTables"


def test_last_exports_that_cannot_be_read_leave_the_target_incomplete(ddb):
    monthly = {"name": "monthly", "schedule": "cron(0 4 1 * ? *)", "retentionDays": 365, "minKeep": 1}
    plans = {"daily": {"rules": [*RULES, {**monthly, "target": "export"}], "pitr": {"enabled": True}}}
    reads = ExportReads(dynamodb=dead_client("dynamodb", "us-east-1"), s3=None)

    fleet = scan_targets(
        [Target(ACCOUNT, "us-east-1")],
        lambda target: Connection(gateways(), exports=reads),
        config=CliConfig(plans=parse_plans(plans)),
        now=NOW,
    )

    (target,) = fleet.scans
    assert target.exports is None and len(target.scan.statuses) == 2
    (error,) = fleet.incomplete
    assert error.what == "last exports" and error.error.startswith("cannot reach AWS")
