"""The lease table's conditional writes on the stand-in: taken once, resent safely, refused to a second holder."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.stub import Stubber

from tablesafe.aws.clients import lease_client
from tablesafe.aws.lease_table import LeaseTable
from tablesafe.slots.lease import RECORD_KEPT_SECONDS, LeaseRecord, LeaseState, LeaseStoreError
from tests.lease_support import LEASE_TABLE, create_lease_table, lease_items

KEY = "backup#daily#daily#20261127T0300Z"
NOW = 1_800_000_000.0


@pytest.fixture
def ddb(standin):
    client = standin.client("dynamodb")
    create_lease_table(client)
    return client


def test_a_free_lease_is_written_with_holder_expiry_state_and_ttl(ddb):
    record = LeaseTable(LEASE_TABLE, lease_client()).take(KEY, "a", NOW + 100, NOW, None)

    assert record == LeaseRecord("a", NOW + 100)
    (item,) = lease_items(ddb)
    assert item["pk"] == {"S": KEY} and item["holder"] == {"S": "a"} and item["state"] == {"S": "held"}
    assert float(item["expires_at"]["N"]) == NOW + 100
    assert int(item["ttl"]["N"]) == int(NOW + 100 + RECORD_KEPT_SECONDS)


def test_a_held_lease_is_refused_to_another_holder_who_learns_who_holds_it(ddb):
    table = LeaseTable(LEASE_TABLE, lease_client())
    table.take(KEY, "a", NOW + 100, NOW, None)

    assert table.take(KEY, "b", NOW + 200, NOW + 50, None) == LeaseRecord("a", NOW + 100)
    assert lease_items(ddb)[0]["holder"] == {"S": "a"}


def test_a_lapsed_lease_is_taken_over_and_a_predecessors_is_inherited(ddb):
    table = LeaseTable(LEASE_TABLE, lease_client())
    table.take(KEY, "a", NOW + 100, NOW, None)

    assert table.take(KEY, "b", NOW + 300, NOW + 101, None).holder == "b"
    assert table.take(KEY, "c", NOW + 400, NOW + 102, "b").holder == "c"
    assert table.take(KEY, "d", NOW + 500, NOW + 103, "b").holder == "c"  # "b" handed on to "c", not to "d"


def test_a_take_says_whom_it_took_the_lease_from(ddb):
    table = LeaseTable(LEASE_TABLE, lease_client())
    assert table.take(KEY, "a", NOW + 100, NOW, None).taken_from == ""  # free
    assert table.take(KEY, "b", NOW + 300, NOW + 1, "a").taken_from == "a"  # inherited from its predecessor
    assert table.take(KEY, "c", NOW + 500, NOW + 301, None).taken_from == "b"  # lapsed


def test_a_resent_take_took_the_lease_from_itself_so_no_continuation_trusts_it_as_inherited(standin, ddb):
    table = LeaseTable(LEASE_TABLE, lease_client())
    table.take(KEY, "a", NOW + 100, NOW, None)
    standin.faults.set("PutItem", lost=1.0, limit=1)

    assert table.take(KEY, "b", NOW + 300, NOW + 1, "a").taken_from == "b"


def test_a_take_whose_answer_was_lost_is_resent_and_still_ours(standin, ddb):
    standin.faults.set("PutItem", lost=1.0, limit=1)  # the write takes effect, then its answer is lost

    record = LeaseTable(LEASE_TABLE, lease_client()).take(KEY, "a", NOW + 100, NOW, None)

    assert standin.calls.count("PutItem", "lost") == 1 and standin.calls.count("PutItem", "ok") == 1
    assert record.holder == "a" and lease_items(ddb)[0]["holder"] == {"S": "a"}


def test_a_refusal_without_the_item_in_it_is_read_back_consistently():
    client = boto3.client("dynamodb")
    table = LeaseTable(LEASE_TABLE, client)
    with Stubber(client) as stub:  # the gateway receives its client; this one answers as scripted
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
        stub.add_response(
            "get_item",
            {"Item": {"pk": {"S": KEY}, "holder": {"S": "a"}, "expires_at": {"N": "123.5"}, "state": {"S": "held"}}},
            {"TableName": LEASE_TABLE, "Key": {"pk": {"S": KEY}}, "ConsistentRead": True},
        )
        assert table.take(KEY, "b", NOW + 100, NOW, None) == LeaseRecord("a", 123.5, LeaseState.HELD)


def test_update_marks_the_lease_only_for_its_holder(ddb):
    table = LeaseTable(LEASE_TABLE, lease_client())
    table.take(KEY, "a", NOW + 100, NOW, None)

    assert table.update(KEY, "b", 0.0, LeaseState.RELEASED, NOW + 1) is False
    assert table.update(KEY, "a", 0.0, LeaseState.RELEASED, NOW + 1) is True
    (item,) = lease_items(ddb)
    assert (item["state"], float(item["expires_at"]["N"])) == ({"S": "released"}, 0.0)
    assert int(item["ttl"]["N"]) == int(NOW + 1 + RECORD_KEPT_SECONDS)
    assert table.take(KEY, "b", NOW + 200, NOW + 2, None).holder == "b"  # released: free at once


def test_a_table_that_keeps_throttling_or_does_not_exist_is_a_store_error(standin, ddb, monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda _: None)  # botocore's backoff between its eight attempts
    standin.faults.set("PutItem", throttle=1.0)

    with pytest.raises(LeaseStoreError, match="ThrottlingException"):
        LeaseTable(LEASE_TABLE, lease_client()).take(KEY, "a", NOW + 100, NOW, None)
    with pytest.raises(LeaseStoreError, match="ResourceNotFoundException"):
        LeaseTable("no-such-table", lease_client()).update(KEY, "a", 0.0, LeaseState.RELEASED, NOW)
