"""Table status, global-table replicas and tag discovery, as tablesafe sees them through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tools.standin import StandIn
from tools.standin.support import NO_RETRIES, create_table, error_code


@pytest.fixture
def ddb(standin: StandIn):
    return standin.client("dynamodb", config=NO_RETRIES)


@pytest.fixture
def tagging(standin: StandIn):
    return standin.client("resourcegroupstaggingapi", config=NO_RETRIES)


@pytest.mark.parametrize(
    "status",
    ["CREATING", "UPDATING", "DELETING", "ARCHIVING", "ARCHIVED", "INACCESSIBLE_ENCRYPTION_CREDENTIALS"],
)
def test_describe_table_shows_the_status_a_test_sets(standin: StandIn, ddb, status: str) -> None:
    create_table(ddb, "orders")

    standin.set_table_status("orders", status)

    assert ddb.describe_table(TableName="orders")["Table"]["TableStatus"] == status


@pytest.mark.parametrize("status", ["CREATING", "DELETING"])
def test_backup_of_a_table_being_created_or_deleted_is_table_in_use(standin: StandIn, ddb, status: str) -> None:
    create_table(ddb, "orders")
    standin.set_table_status("orders", status)

    with pytest.raises(ClientError) as raised:
        ddb.create_backup(TableName="orders", BackupName="first")

    assert error_code(raised.value) == "TableInUseException"
    assert ddb.list_backups()["BackupSummaries"] == []


@pytest.mark.parametrize("status", ["ARCHIVING", "ARCHIVED", "INACCESSIBLE_ENCRYPTION_CREDENTIALS"])
def test_backup_of_a_table_whose_data_is_unreachable_is_a_validation_error(standin: StandIn, ddb, status: str) -> None:
    create_table(ddb, "orders")
    standin.set_table_status("orders", status)

    with pytest.raises(ClientError) as raised:
        ddb.create_backup(TableName="orders", BackupName="first")

    assert error_code(raised.value) == "ValidationException"
    assert "orders" in raised.value.response["Error"]["Message"]
    assert status in raised.value.response["Error"]["Message"]


def test_updating_table_can_be_backed_up_and_active_ends_the_override(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    standin.set_table_status("orders", "UPDATING")

    ddb.create_backup(TableName="orders", BackupName="during-update")
    standin.set_table_status("orders", "ACTIVE")

    assert ddb.describe_table(TableName="orders")["Table"]["TableStatus"] == "ACTIVE"


def test_status_override_ends_with_the_table(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")
    standin.set_table_status("orders", "ARCHIVED")
    standin.set_replicas("orders", ["eu-west-1"])

    ddb.delete_table(TableName="orders")
    create_table(ddb, "orders")

    table = ddb.describe_table(TableName="orders")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert "Replicas" not in table


def test_status_control_names_its_mistakes(standin: StandIn, ddb) -> None:
    create_table(ddb, "orders")

    with pytest.raises(ValueError, match="'nope' does not exist"):
        standin.set_table_status("nope", "ARCHIVED")
    with pytest.raises(ValueError, match="'FROZEN'"):
        standin.set_table_status("orders", "FROZEN")


def test_global_table_lists_its_other_replicas(standin: StandIn) -> None:
    east = standin.client("dynamodb", region="us-east-1")
    west = standin.client("dynamodb", region="eu-west-1")
    create_table(east, "orders")
    create_table(west, "orders")
    create_table(east, "plain")

    standin.set_global_table("orders", ["us-east-1", "eu-west-1"])

    seen_east = east.describe_table(TableName="orders")["Table"]
    seen_west = west.describe_table(TableName="orders")["Table"]
    assert seen_east["Replicas"] == [{"RegionName": "eu-west-1", "ReplicaStatus": "ACTIVE"}]
    assert seen_west["Replicas"] == [{"RegionName": "us-east-1", "ReplicaStatus": "ACTIVE"}]
    assert seen_east["GlobalTableVersion"] == "2019.11.21"
    assert "Replicas" not in east.describe_table(TableName="plain")["Table"]


def test_describe_table_of_a_missing_table_is_resource_not_found(standin: StandIn, ddb) -> None:
    with pytest.raises(ClientError) as raised:
        ddb.describe_table(TableName="nope")
    assert error_code(raised.value) == "ResourceNotFoundException"


def _tag_tables(ddb) -> dict[str, str]:
    arns = {}
    for i in range(7):
        arns[f"daily-{i}"] = create_table(ddb, f"daily-{i}", {"backup-plan": "daily", "team": f"t{i % 2}"})
    for i in range(2):
        arns[f"weekly-{i}"] = create_table(ddb, f"weekly-{i}", {"backup-plan": "weekly"})
    create_table(ddb, "untagged")
    create_table(ddb, "other-key", {"owner": "ops"})
    return arns


def _all_resources(tagging, **params) -> tuple[list[str], list[str]]:
    """ARNs over every page, and the tokens seen."""
    arns, tokens = [], []
    while True:
        page = tagging.get_resources(ResourceTypeFilters=["dynamodb:table"], **params)
        arns += [r["ResourceARN"] for r in page["ResourceTagMappingList"]]
        tokens.append(page["PaginationToken"])
        if not page["PaginationToken"]:
            return arns, tokens
        params["PaginationToken"] = page["PaginationToken"]


def test_get_resources_pages_tagged_tables(standin: StandIn, ddb, tagging) -> None:
    arns = _tag_tables(ddb)

    found, tokens = _all_resources(
        tagging, TagFilters=[{"Key": "backup-plan", "Values": ["daily"]}], ResourcesPerPage=3
    )

    assert found == sorted(arns[f"daily-{i}"] for i in range(7))
    assert len(tokens) == 3
    assert tokens[-1] == ""  # AWS ends with an empty token, not a missing one


def test_get_resources_tag_filters(standin: StandIn, ddb, tagging) -> None:
    arns = _tag_tables(ddb)

    any_plan, _ = _all_resources(tagging, TagFilters=[{"Key": "backup-plan"}])
    either, _ = _all_resources(tagging, TagFilters=[{"Key": "backup-plan", "Values": ["weekly", "monthly"]}])
    both, _ = _all_resources(
        tagging, TagFilters=[{"Key": "backup-plan", "Values": ["daily"]}, {"Key": "team", "Values": ["t0"]}]
    )
    everything, _ = _all_resources(tagging)

    assert set(any_plan) == {arn for name, arn in arns.items()}
    assert set(either) == {arns["weekly-0"], arns["weekly-1"]}
    assert set(both) == {arns[f"daily-{i}"] for i in (0, 2, 4, 6)}
    assert len(everything) == 10  # every tagged table, the untagged one left out


def test_get_resources_returns_each_table_once_when_tables_change_between_pages(standin: StandIn, ddb, tagging) -> None:
    arns = _tag_tables(ddb)
    first = tagging.get_resources(ResourceTypeFilters=["dynamodb:table"], ResourcesPerPage=4)
    ddb.delete_table(TableName="daily-0")
    late = create_table(ddb, "aaa-late", {"backup-plan": "daily"})  # sorts before every page already given

    rest, _ = _all_resources(tagging, ResourcesPerPage=4, PaginationToken=first["PaginationToken"])

    seen = [r["ResourceARN"] for r in first["ResourceTagMappingList"]] + rest
    assert len(seen) == len(set(seen))
    assert late not in rest
    assert set(arns.values()) - {arns["daily-0"]} <= set(seen)


def test_get_resources_with_the_boto3_paginator(standin: StandIn, ddb, tagging) -> None:
    _tag_tables(ddb)
    paginator = tagging.get_paginator("get_resources")

    pages = list(paginator.paginate(ResourceTypeFilters=["dynamodb"], PaginationConfig={"PageSize": 4}))

    assert [len(p["ResourceTagMappingList"]) for p in pages] == [4, 4, 2]


@pytest.mark.parametrize("params", [{"ResourcesPerPage": 101}, {"TagsPerPage": 50}, {"PaginationToken": "garbage"}])
def test_get_resources_rejects_bad_parameters(standin: StandIn, tagging, params) -> None:
    with pytest.raises(ClientError) as raised:
        tagging.get_resources(ResourceTypeFilters=["dynamodb:table"], **params)
    assert error_code(raised.value) == "InvalidParameterException"


def test_get_resources_sees_only_its_region(standin: StandIn) -> None:
    east = standin.client("dynamodb", region="us-east-1")
    west = standin.client("dynamodb", region="us-west-2")
    create_table(east, "east-table", {"backup-plan": "daily"})
    west_arn = create_table(west, "west-table", {"backup-plan": "daily"})

    found = standin.client("resourcegroupstaggingapi", region="us-west-2").get_resources(
        ResourceTypeFilters=["dynamodb:table"], TagFilters=[{"Key": "backup-plan"}]
    )

    assert [r["ResourceARN"] for r in found["ResourceTagMappingList"]] == [west_arn]


def test_tags_added_later_are_found(standin: StandIn, ddb, tagging) -> None:
    arn = create_table(ddb, "orders")
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "backup-plan", "Value": "daily"}])

    found, _ = _all_resources(tagging, TagFilters=[{"Key": "backup-plan", "Values": ["daily"]}])

    assert found == [arn]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "backup-plan", "Value": "daily"}]
