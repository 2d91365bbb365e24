"""`tablesafe copy-items`: the partial restore, from a restored table back into the live one."""

from __future__ import annotations

import json
import random
import threading

import boto3
import pytest

from tablesafe.aws.clients import table_clients
from tablesafe.aws.dynamodb import AmbiguousResult, Throttled
from tablesafe.aws.retry import RetryPolicy
from tablesafe.aws.tables import Page, TableGateway
from tablesafe_cli.copy_items import copy_items
from tablesafe_cli.copy_report import Mode, Selection
from tests.integration.cli_support import run

REGION = "us-east-1"


def make_table(client, name: str, *, range_key: bool = True) -> None:
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "N"})
    client.create_table(
        TableName=name, KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )


def item(pk: str, sk: int, status: str = "open", version: int = 1) -> dict:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}, "status": {"S": status}, "version": {"N": str(version)}}


def fill(client, table: str, items: list[dict]) -> None:
    for start in range(0, len(items), 25):
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]})


def contents(client, table: str) -> dict[tuple[str, str], dict]:
    items, params = [], {"TableName": table}
    while True:
        page = client.scan(**params)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {(i["pk"]["S"], i["sk"]["N"]): i for i in items}


@pytest.fixture
def restored_and_live(aws):
    """`restored` holds 30 items as they were; `live` lost some, changed some, and has a new one."""
    make_table(aws, "restored")
    make_table(aws, "live")
    before = [item(f"c#{i % 3}", i, "open" if i % 2 else "closed") for i in range(30)]
    fill(aws, "restored", before)
    fill(aws, "live", [i for i in before if int(i["sk"]["N"]) >= 10])  # items 0-9 were deleted by mistake
    aws.put_item(TableName="live", Item=item("c#0", 12, "closed", version=2))  # changed since the backup
    aws.put_item(TableName="live", Item=item("c#9", 100))  # written since the backup
    return aws


def test_keys_copy_missing_items_and_never_overwrite_existing_ones(restored_and_live, capsys):
    aws = restored_and_live
    code, out, _ = run(
        capsys,
        "copy-items",
        "--from", "restored", "--to", "live",
        "--key", '{"pk": "c#0", "sk": 0}',
        "--key", '{"pk": {"S": "c#1"}, "sk": {"N": "1"}}',
        "--key", '{"pk": "c#0", "sk": 12}',
        "--key", '{"pk": "c#0", "sk": 0}',
        "--key", '{"pk": "c#2", "sk": 999}',
        "--json",
    )  # fmt: skip

    assert code == 0
    report = json.loads(out)
    assert (report["read"], report["copied"], report["skipped"], report["failed"]) == (3, 2, 1, [])
    assert report["notFound"] == [{"pk": "c#2", "sk": 999}]
    live = contents(aws, "live")
    assert live[("c#0", "0")] == item("c#0", 0, "closed") and live[("c#1", "1")] == item("c#1", 1, "open")
    assert live[("c#0", "12")]["version"] == {"N": "2"}  # the newer live item is kept


def test_overwrite_replaces_existing_items(restored_and_live, capsys):
    aws = restored_and_live
    code, out, _ = run(
        capsys, "copy-items", "--from", "restored", "--to", "live", "--key", '{"pk": "c#0", "sk": 12}',
        "--mode", "overwrite", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["copied"] == 1
    assert contents(aws, "live")[("c#0", "12")]["version"] == {"N": "1"}


def test_a_dry_run_lists_what_would_change_and_changes_nothing(restored_and_live, capsys):
    aws = restored_and_live
    before = contents(aws, "live")

    code, out, _ = run(
        capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "pk = :p", "--values",
        '{":p": "c#0"}', "--mode", "overwrite", "--dry-run", "--json",
    )  # fmt: skip

    assert code == 0
    report = json.loads(out)
    assert report["dryRun"] is True and report["copied"] == 0
    assert report["wouldDo"] == {"copy": 4, "skip": 0, "overwrite": 1, "unchanged": 5}
    planned = {(p["key"]["pk"], p["key"]["sk"]): p["action"] for p in report["planned"]}
    assert planned[("c#0", 0)] == "copy" and planned[("c#0", 12)] == "overwrite" and planned[("c#0", 15)] == "unchanged"
    assert contents(aws, "live") == before

    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "pk = :p",
                       "--values", '{":p": "c#0"}', "--dry-run")  # fmt: skip
    assert code == 0 and 'would copy      {"pk": "c#0", "sk": 0}' in out and "dry run" in out
    assert contents(aws, "live") == before


def test_a_filter_with_names_and_values_copies_only_matching_items(restored_and_live, capsys):
    aws = restored_and_live
    code, out, _ = run(
        capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "#s = :s AND sk < :n",
        "--names", '{"#s": "status"}', "--values", '{":s": {"S": "open"}, ":n": 10}', "--segments", "3", "--json",
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert (report["read"], report["copied"], report["skipped"]) == (5, 5, 0)
    live = contents(aws, "live")
    assert [sk for sk in range(10) if (f"c#{sk % 3}", str(sk)) in live] == [1, 3, 5, 7, 9]


def test_a_key_condition_queries_instead_of_scanning(restored_and_live, capsys):
    aws = restored_and_live
    code, out, _ = run(
        capsys, "copy-items", "--from", "restored", "--to", "live", "--key-condition", "pk = :p AND sk < :n",
        "--values", '{":p": "c#1", ":n": 10}', "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["copied"] == 3  # sk 1, 4, 7
    assert ("c#1", "4") in contents(aws, "live")


def test_keys_from_a_file(restored_and_live, capsys, tmp_path):
    keys = tmp_path / "keys.jsonl"
    keys.write_text('{"pk": "c#0", "sk": 3}\n\n{"pk": "c#1", "sk": 4}\n')
    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--keys-file", str(keys), "--json")
    assert code == 0 and json.loads(out)["copied"] == 2


def test_a_key_schema_mismatch_is_refused_before_anything_is_read(aws, capsys):
    make_table(aws, "restored")
    make_table(aws, "other", range_key=False)
    fill(aws, "restored", [item("a", 1)])
    code, out, err = run(capsys, "copy-items", "--from", "restored", "--to", "other", "--filter", "sk > :z",
                         "--values", '{":z": 0}')  # fmt: skip
    assert code == 1 and out == ""
    assert err == (
        "tablesafe: error: key schemas differ: restored has pk (S, HASH) + sk (N, RANGE), other has pk (S, HASH)\n"
    )
    assert contents(aws, "other") == {}


def test_a_missing_table_fails_with_one_line(aws, capsys):
    make_table(aws, "live")
    code, _, err = run(capsys, "copy-items", "--from", "gone", "--to", "live", "--key", '{"pk": "a", "sk": 1}')
    assert code == 1
    assert err == f"tablesafe: error: table gone not found in {REGION}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "choose the items with exactly one of --key"),
        (["--key", '{"pk": "a", "sk": 1}', "--filter", "sk > :z"], "choose the items with exactly one of --key"),
        (["--key", "{pk: a}"], "--key {pk: a}: not valid JSON: Expecting property name enclosed in double quotes"),
        (["--key", '{"pk": "a"}'], 'key {"pk": "a"} does not fit restored: missing sk'),
        (["--key", '{"pk": "a", "sk": "1"}'], 'key {"pk": "a", "sk": "1"}: sk is of type N in restored, got S'),
        (["--filter", "sk > :z", "--values", '{"z": 1}'], "--values: expected a JSON object whose keys start with ':'"),
        (["--keys-file", "/nonexistent/keys"], "--keys-file /nonexistent/keys: No such file or directory"),
        (["--filter", "x", "--segments", "0"], "argument --segments: must be from 1 to 64, got 0"),
        (["--key", '{"pk": "a", "sk": 1}', "--values", '{":a": 1}'], "--names and --values go with --filter or"),
    ],
)
def test_bad_selections_are_usage_errors(restored_and_live, capsys, argv, message):
    before = contents(restored_and_live, "live")
    code, out, err = run(capsys, "copy-items", "--from", "restored", "--to", "live", *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"tablesafe: error: {message}") and err.count("\n") == 1, err
    assert contents(restored_and_live, "live") == before


def test_the_same_table_on_both_sides_is_refused(restored_and_live, capsys):
    code, _, err = run(capsys, "copy-items", "--from", "live", "--to", "live", "--filter", "sk > :z",
                       "--values", '{":z": 0}')  # fmt: skip
    assert code == 1 and err == "tablesafe: error: --from and --to name the same table\n"


# -- throttling and unprocessed items ----------------------------------------------------------------------------


class FlakyTables(TableGateway):
    """The real gateway, but BatchWriteItem leaves items unprocessed and PutItem is throttled, as under load."""

    def __init__(self, *, unprocessed_rounds: int, throttled_puts: int) -> None:
        super().__init__(table_clients(boto3.Session(region_name=REGION), rate_limits={}))
        self.unprocessed_rounds = unprocessed_rounds
        self.throttled_puts = throttled_puts
        self.batch_calls = 0
        self.put_calls = 0
        self._lock = threading.Lock()

    def batch_put(self, table, items):
        with self._lock:
            self.batch_calls += 1
            flaky = self.unprocessed_rounds > 0
            if flaky:
                self.unprocessed_rounds -= 1
        if flaky:  # write the first item only, hand the rest back
            super().batch_put(table, items[:1])
            return list(items[1:])
        return super().batch_put(table, items)

    def put_if_absent(self, table, item, hash_key):
        with self._lock:
            self.put_calls += 1
            throttle = self.throttled_puts > 0
            if throttle:
                self.throttled_puts -= 1
        if throttle:
            raise Throttled("PutItem", "ProvisionedThroughputExceededException", "rate of requests exceeds")
        return super().put_if_absent(table, item, hash_key)


def no_wait_retry(attempts: int = 10) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base=0.05, cap=5.0, sleep=lambda _: None, rng=random.Random(7))


def test_unprocessed_items_are_retried_until_written(restored_and_live):
    tables = FlakyTables(unprocessed_rounds=20, throttled_puts=0)
    report = copy_items(
        tables, "restored", "live", Selection(filter_expression="sk < :n", values={":n": {"N": "10"}}),
        mode=Mode.OVERWRITE, workers=2, retry=no_wait_retry(),
    )  # fmt: skip
    assert (report.copied, report.failed) == (10, [])
    assert tables.batch_calls > 1
    assert all((f"c#{i % 3}", str(i)) in contents(restored_and_live, "live") for i in range(10))


def test_items_still_unprocessed_after_every_retry_are_counted_failed_and_listed(restored_and_live, capsys):
    tables = FlakyTables(unprocessed_rounds=10_000, throttled_puts=0)
    report = copy_items(
        tables, "restored", "live", Selection(keys=({"pk": "c#0", "sk": 0}, {"pk": "c#1", "sk": 1})),
        mode=Mode.OVERWRITE, workers=1, retry=no_wait_retry(attempts=3),
    )  # fmt: skip
    # each attempt writes one item and hands the rest back: two items, three attempts: both written
    assert report.copied == 2 and report.failed == []
    ten = tuple({"pk": f"c#{i % 3}", "sk": i} for i in range(10))
    report = copy_items(
        tables, "restored", "live", Selection(keys=ten), mode=Mode.OVERWRITE, workers=1,
        retry=no_wait_retry(attempts=3),
    )  # fmt: skip
    assert report.copied == 3 and len(report.failed) == 7
    assert all(f.reason == "still unprocessed after 3 attempts" for f in report.failed)
    assert report.as_dict()["failed"][0]["key"].keys() == {"pk", "sk"}


def test_throttled_conditional_writes_are_retried_and_still_skip_existing_items(restored_and_live):
    tables = FlakyTables(unprocessed_rounds=0, throttled_puts=5)  # fewer than the attempts any one item gets
    report = copy_items(
        tables, "restored", "live", Selection(filter_expression="pk = :p", values={":p": {"S": "c#0"}}),
        workers=4, retry=no_wait_retry(),
    )  # fmt: skip
    assert (report.copied, report.skipped, report.failed) == (4, 6, [])
    assert tables.put_calls == 4 + 5  # the six present items were seen by the look-up and never written
    assert contents(restored_and_live, "live")[("c#0", "12")]["version"] == {"N": "2"}


class RacingTables(TableGateway):
    """The look-up of the live table sees nothing, as if the application wrote the items right after it."""

    def batch_get(self, table, keys, *, consistent=True, only=()):
        if table == "live":
            return [], []
        return super().batch_get(table, keys, consistent=consistent, only=only)


def test_skip_existing_never_overwrites_an_item_written_after_the_look_up(restored_and_live):
    tables = RacingTables(table_clients(boto3.Session(region_name=REGION), rate_limits={}))
    report = copy_items(
        tables, "restored", "live", Selection(filter_expression="pk = :p", values={":p": {"S": "c#0"}}),
        retry=no_wait_retry(),
    )  # fmt: skip
    assert (report.copied, report.skipped, report.failed) == (4, 6, [])
    assert contents(restored_and_live, "live")[("c#0", "12")]["version"] == {"N": "2"}


def test_the_cli_exits_1_and_lists_items_that_failed(restored_and_live, capsys, monkeypatch):
    def always_throttled(self, table, item, hash_key):
        raise Throttled("PutItem", "ThrottlingException", "slow down")

    monkeypatch.setattr(TableGateway, "put_if_absent", always_throttled)
    monkeypatch.setattr("tablesafe_cli.copy_items.copy_retry", lambda: no_wait_retry(attempts=2))
    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--key", '{"pk": "c#0", "sk": 0}')
    assert code == 1
    assert 'failed {"pk": "c#0", "sk": 0}: gave up after 2 attempts' in out


# -- keys compared as DynamoDB compares them ---------------------------------------------------------------------


def test_a_number_key_finds_its_item_however_the_number_is_written(restored_and_live, capsys):
    aws = restored_and_live
    code, out, _ = run(
        capsys, "copy-items", "--from", "restored", "--to", "live",
        "--key", '{"pk": "c#0", "sk": 0.0}', "--key", '{"pk": {"S": "c#1"}, "sk": {"N": "1.00"}}', "--json",
    )  # fmt: skip

    assert code == 0
    report = json.loads(out)
    assert (report["read"], report["copied"], report["notFound"]) == (2, 2, [])
    assert {("c#0", "0"), ("c#1", "1")} <= contents(aws, "live").keys()


def test_one_key_given_in_several_forms_is_read_and_copied_once(restored_and_live, capsys):
    code, out, err = run(
        capsys, "copy-items", "--from", "restored", "--to", "live",
        "--key", '{"pk": "c#0", "sk": 0}', "--key", '{"pk": "c#0", "sk": 0.0}',
        "--key", '{"pk": "c#0", "sk": {"N": "0e0"}}', "--json",
    )  # fmt: skip

    assert code == 0, err
    report = json.loads(out)
    assert (report["read"], report["copied"], report["skipped"], report["notFound"]) == (1, 1, 0, [])
    assert report["duplicateKeys"] == 2 and report["complete"] is True


def test_binary_keys_are_matched_by_their_bytes(aws, capsys):
    for name in ("restored", "live"):
        aws.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "B"}],
            BillingMode="PAY_PER_REQUEST",
        )
    aws.put_item(TableName="restored", Item={"id": {"B": b"\x00\xff"}, "v": {"S": "old"}})

    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live",
                       "--key", '{"id": {"B": "AP8="}}', "--key", '{"id": {"B": "AP8="}}', "--json")  # fmt: skip

    assert code == 0
    report = json.loads(out)
    assert (report["copied"], report["notFound"], report["duplicateKeys"]) == (1, [], 1)
    assert aws.get_item(TableName="live", Key={"id": {"B": b"\x00\xff"}})["Item"]["v"] == {"S": "old"}


# -- a copy that stops part-way ----------------------------------------------------------------------------------


def unread_after_first_call(table: str):
    """TableGateway.batch_get that, on `table`, hands every key back unprocessed after its first call."""
    real = TableGateway.batch_get
    calls = []

    def batch_get(self, name, keys, *, consistent=True, only=()):
        if name == table:
            calls.append(len(keys))
            if len(calls) > 1:
                return [], list(keys)
        return real(self, name, keys, consistent=consistent, only=only)

    return batch_get


def test_keys_still_unread_after_the_retries_stop_the_copy_and_the_summary_says_what_was_written(
    restored_and_live, capsys, monkeypatch, tmp_path
):
    aws = restored_and_live
    # the first BatchGetItem (100 keys) holds items 0-9, missing from live, and 90 keys of no item
    keys = [{"pk": f"c#{i % 3}", "sk": i} for i in range(10)] + [{"pk": "none", "sk": i} for i in range(90)]
    later = [{"pk": f"c#{i % 3}", "sk": i} for i in range(10, 30)] + [{"pk": "none", "sk": i} for i in range(90, 100)]
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keys + later))
    monkeypatch.setattr(TableGateway, "batch_get", unread_after_first_call("restored"))
    monkeypatch.setattr("tablesafe_cli.copy_items.copy_retry", lambda: no_wait_retry(attempts=2))

    code, out, err = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--keys-file", str(path),
                         "--json")  # fmt: skip

    assert code == 1
    report = json.loads(out)
    assert (report["read"], report["copied"], report["skipped"], report["failed"]) == (10, 10, 0, [])
    assert len(report["notFound"]) == 90 and report["complete"] is False
    assert report["notAttempted"] == later  # exactly what a second run has to do, in the order given
    assert report["stopped"] == "BatchGetItem on restored: 30 keys unread (unprocessed after 2 tries)"
    assert err == (
        "tablesafe: error: copy-items stopped part-way: BatchGetItem on restored: 30 keys unread (unprocessed after "
        "2 tries); what it wrote stays written (10 copied, 0 skipped, 0 failed); 30 keys not attempted; "
        "run it again to finish\n"
    )
    assert all((f"c#{i % 3}", str(i)) in contents(aws, "live") for i in range(10))


def test_a_stopped_copy_lists_what_was_not_attempted_in_its_readable_summary(restored_and_live, capsys, monkeypatch):
    monkeypatch.setattr(TableGateway, "batch_get", unread_after_first_call("restored"))
    monkeypatch.setattr("tablesafe_cli.copy_items.copy_retry", lambda: no_wait_retry(attempts=2))
    keys = [arg for i in range(101) for arg in ("--key", json.dumps({"pk": f"c#{i % 3}", "sk": i}))]

    code, out, err = run(capsys, "copy-items", "--from", "restored", "--to", "live", *keys)

    assert code == 1 and err.startswith("tablesafe: error: copy-items stopped part-way: ") and err.count("\n") == 1
    assert 'not attempted (the copy stopped first): {"pk": "c#1", "sk": 100}' in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["read"])
    assert lines[header].split()[:7] == ["read", "copied", "skipped", "failed", "not", "found", "not"]
    assert lines[header + 2].split()[:6] == ["30", "10", "20", "0", "70", "1"]  # read ... not found, not attempted


def test_a_scan_that_fails_part_way_stops_after_finishing_what_it_read(restored_and_live, capsys, monkeypatch):
    real = TableGateway.scan

    def failing_scan(self, table, **kwargs):
        for page in real(self, table, **kwargs):
            yield Page(items=page.items[:12], scanned=12)  # one page of 12 items, then the next page fails
            raise AmbiguousResult("Scan", "InternalServerError", "Internal server error")

    monkeypatch.setattr(TableGateway, "scan", failing_scan)

    code, out, err = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--filter",
                         "attribute_exists(pk)", "--segments", "1", "--json")  # fmt: skip

    assert code == 1
    report = json.loads(out)
    assert report["read"] == 12 and report["copied"] + report["skipped"] == 12 and report["failed"] == []
    assert report["stopped"] == (
        "Scan of restored failed part-way, the rest was not read: "
        "Scan failed: InternalServerError: Internal server error"
    )
    assert report["notAttempted"] == []  # a Scan's unread rest has no keys to list
    assert err.startswith("tablesafe: error: copy-items stopped part-way: Scan of restored failed part-way")
    assert f"what it wrote stays written ({report['copied']} copied, {report['skipped']} skipped, 0 failed)" in err


def test_a_dry_run_whose_look_up_stays_unread_stops_and_lists_the_keys_it_did_not_check(restored_and_live):
    class UnreadableLive(TableGateway):
        def batch_get(self, table, keys, *, consistent=True, only=()):
            if table == "live":
                return [], list(keys)
            return super().batch_get(table, keys, consistent=consistent, only=only)

    tables = UnreadableLive(table_clients(boto3.Session(region_name=REGION), rate_limits={}))
    keys = ({"pk": "c#0", "sk": 0}, {"pk": "c#1", "sk": 1}, {"pk": "c#2", "sk": 999})

    report = copy_items(tables, "restored", "live", Selection(keys=keys), dry_run=True, retry=no_wait_retry(2))

    assert report.planned == [] and report.stopped == "BatchGetItem on live: 2 keys unread (unprocessed after 2 tries)"
    assert report.as_dict()["notAttempted"] == [{"pk": "c#0", "sk": 0}, {"pk": "c#1", "sk": 1}]
    assert report.as_dict()["notFound"] == [{"pk": "c#2", "sk": 999}]


def test_a_scan_refused_before_anything_is_read_is_one_error_line_and_no_summary(restored_and_live, capsys):
    before = contents(restored_and_live, "live")
    code, out, err = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--filter", "sk >")

    assert code == 1 and out == ""
    assert err.startswith("tablesafe: error: Scan failed: ValidationException") and err.count("\n") == 1
    assert contents(restored_and_live, "live") == before
