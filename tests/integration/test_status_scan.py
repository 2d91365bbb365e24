"""The one-region scan (tablesafe_cli/status_scan.py) on the stand-in: what it reads, and what it no longer needs to."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from tablesafe.aws.clients import backup_clients, table_clients
from tablesafe.aws.dynamodb import DynamoDbGateway
from tablesafe.aws.errors import GatewayError
from tablesafe.aws.tables import TableGateway
from tablesafe.rules.home_region import HOME_REGION_TAG
from tablesafe_cli.config import CliConfig
from tablesafe_cli.status_scan import ScanGateways, scan_region
from tools.standin.support import create_table

NOW = datetime.now(UTC)
FAST = {op: 2000.0 for op in ("ListBackups", "GetResources", "ListTagsOfResource", "DescribeContinuousBackups")}


def gateways() -> ScanGateways:
    session = boto3.Session(region_name="us-east-1")  # the stand-in, through AWS_ENDPOINT_URL
    return ScanGateways(
        tables=TableGateway(table_clients(session, rate_limits=FAST)),
        backups=DynamoDbGateway(backup_clients(session, rate_limits=FAST)),
    )


def test_a_tagged_global_tables_home_region_comes_from_the_tagging_api_and_only_an_untagged_ones_is_read(standin):
    ddb = standin.client("dynamodb")
    home = {HOME_REGION_TAG: "eu-west-1"}
    create_table(ddb, "orders", {"backup-plan": "daily", **home})
    create_table(ddb, "ledger", home)
    create_table(ddb, "plain", {"backup-plan": "daily"})
    for table in ("orders", "ledger"):
        standin.set_replicas(table, [standin.region, "eu-west-1", "ap-south-1"])
    standin.calls.reset()

    scan = scan_region(gateways(), region="us-east-1", account=None, config=CliConfig(), clock=lambda: NOW)

    kept_in = {s.name: s.backups_region for s in scan.statuses}
    assert kept_in == {"ledger": "eu-west-1", "orders": "eu-west-1", "plain": None}  # the home tag decides
    assert standin.calls.count("ListTagsOfResource") == 1  # ledger's: GetResources named orders with its tags
    assert standin.calls.count("DescribeContinuousBackups") == 3


def test_a_backup_listing_that_fails_fails_the_scan(standin):
    ddb = standin.client("dynamodb")
    for number in range(30):
        create_table(ddb, f"t{number:02d}", {"backup-plan": "daily"})
    session = boto3.Session(region_name="us-east-1")
    clients = backup_clients(session, rate_limits=FAST)
    stubber = Stubber(clients.dynamodb)  # the backups' client: ListBackups only, in a scan
    stubber.add_client_error("list_backups", "AccessDeniedException", "not authorized to perform: ListBackups")
    stubber.activate()
    scan_gateways = ScanGateways(
        tables=TableGateway(table_clients(session, rate_limits=FAST)), backups=DynamoDbGateway(clients)
    )

    with pytest.raises(GatewayError) as raised:
        scan_region(scan_gateways, region="us-east-1", account=None, config=CliConfig(), clock=lambda: NOW)

    assert raised.value.code == "AccessDeniedException"


def test_a_read_that_fails_stops_the_backup_listing_instead_of_waiting_for_it(standin):
    ddb = standin.client("dynamodb")
    create_table(ddb, "orders", {"backup-plan": "daily"})
    for number in range(1000):  # 11 pages of ListBackups
        standin.add_foreign_backup("orders", f"theirs-{number:04d}")
    standin.faults.set("ListBackups", latency_ms=300)  # 3.3 s to list them all
    session = boto3.Session(region_name="us-east-1")
    clients = table_clients(session, rate_limits=FAST)
    stubber = Stubber(clients.dynamodb)  # the tables' client: ListTables, then DescribeTable refused
    stubber.add_response("list_tables", {"TableNames": ["orders"]})
    stubber.add_client_error("describe_table", "AccessDeniedException", "not authorized to perform: DescribeTable")
    stubber.activate()
    scan_gateways = ScanGateways(
        tables=TableGateway(clients), backups=DynamoDbGateway(backup_clients(session, rate_limits=FAST))
    )

    with pytest.raises(GatewayError) as raised:
        scan_region(scan_gateways, region="us-east-1", account=None, config=CliConfig(), clock=lambda: NOW)

    assert raised.value.code == "AccessDeniedException"
    assert standin.calls.count("ListBackups") <= 2  # stopped within its page, not after all 11
