"""The CLI's resends follow the one retry policy: what botocore already resent is reported, never sent again."""

from __future__ import annotations

import json
import random

from tablesafe.aws.dynamodb import DynamoDbGateway, Throttled
from tablesafe.aws.retry import RetryPolicy
from tablesafe.aws.tables import TableGateway
from tablesafe_cli.commands import backup as backup_command
from tests.integration.cli_support import run


def make_table(client, name: str, items: int = 0) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(items):
        client.put_item(TableName=name, Item={"pk": {"S": f"item-{i}"}})


def no_wait(attempts: int = 10) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base=0.05, cap=5.0, sleep=lambda _: None, rng=random.Random(7))


def throttled(*, botocore_retried: bool) -> Throttled:
    return Throttled("PutItem", "ThrottlingException", "slow down", botocore_retried=botocore_retried)


def test_a_write_throttled_after_botocores_retries_is_reported_not_resent(aws, capsys, monkeypatch):
    make_table(aws, "restored", items=1)
    make_table(aws, "live")
    sends: list[str] = []

    def spent(self, table, item, hash_key):
        sends.append(table)
        raise throttled(botocore_retried=True)

    monkeypatch.setattr(TableGateway, "put_if_absent", spent)
    monkeypatch.setattr("tablesafe_cli.copy_items.copy_retry", lambda: no_wait())
    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--key", '{"pk": "item-0"}')
    assert code == 1 and sends == ["live"]  # one send of ours; botocore's own resends happen below the gateway
    assert 'failed {"pk": "item-0"}: PutItem failed: ThrottlingException: slow down' in out


def test_a_write_throttled_without_botocores_retries_is_resent_by_the_policy(aws, capsys, monkeypatch):
    make_table(aws, "restored", items=1)
    make_table(aws, "live")
    real, sends = TableGateway.put_if_absent, []

    def once_throttled(self, table, item, hash_key):
        sends.append(table)
        if len(sends) == 1:
            raise throttled(botocore_retried=False)
        return real(self, table, item, hash_key)

    monkeypatch.setattr(TableGateway, "put_if_absent", once_throttled)
    monkeypatch.setattr("tablesafe_cli.copy_items.copy_retry", lambda: no_wait())
    code, out, _ = run(capsys, "copy-items", "--from", "restored", "--to", "live", "--key", '{"pk": "item-0"}',
                       "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["copied"] == 1 and len(sends) == 2


def test_create_backup_throttled_after_botocores_retries_is_not_sent_again(aws, capsys, monkeypatch):
    make_table(aws, "orders")
    sends: list[str] = []

    def spent(self, table, name):
        sends.append(name)
        raise Throttled("CreateBackup", "ThrottlingException", "slow down", botocore_retried=True)

    monkeypatch.setattr(DynamoDbGateway, "create_backup", spent)
    monkeypatch.setattr(backup_command, "create_retry", lambda: no_wait(6))
    code, _, err = run(capsys, "backup", "orders")
    assert code == 1 and len(sends) == 1
    assert err == "tablesafe: error: CreateBackup failed: ThrottlingException: slow down\n"
