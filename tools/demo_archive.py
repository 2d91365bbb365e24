"""`make demo`'s archive part: a monthly export rule run by the synthesized backup function, and an item recovered.

The app is synthesized with a plan `vault` (daily backups kept 7 days; a monthly rule with `"target": "export"` kept
seven years) and runs on the stand-in through tools/lambda_runner.py: three monthly slots export the table `ledger`
(exports stay IN_PROGRESS until the stand-in completes them, as a real export takes minutes to hours); a daily run's
check reports each completed export (ExportsCompleted, ExportedBytes); an entry of the ledger is deleted by mistake
and found in the latest export with `tablesafe find-items`, then written back with `tablesafe copy-items
--from-export`. It checks one export per slot, the archive's layout, and that the item came back as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

from rich.console import Console

from tools.lambda_runner import CloudAssembly, LambdaRunner, synthesize
from tools.standin import StandIn
from tools.standin.support import create_table

ARCHIVE_CONTEXT: dict[str, Any] = {
    "tablesafe:regions": ["us-east-1"],
    "tablesafe:plans": {
        "vault": {
            "rules": [
                {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 7, "minKeep": 3},
                {
                    "name": "monthly",
                    "schedule": "cron(0 4 1 * ? *)",
                    "retentionDays": 2555,
                    "minKeep": 12,
                    "target": "export",
                },
            ],
            "pitr": {"enabled": True},
        }
    },
    "tablesafe:archive": {"objectLockMode": "COMPLIANCE", "storageClass": "GLACIER_IR", "transitionAfterDays": 1},
}
MONTHS = [datetime(2026, month, 1, 4, 0, tzinfo=UTC) for month in (9, 10, 11)]
LOST = {"account": "acme", "entry": 42}


@dataclass
class ArchiveAccount:
    """What the archive part did, and what its checks found wrong."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entry(number: int, month: int) -> dict[str, Any]:
    return {"account": {"S": "acme"}, "entry": {"N": str(number)}, "amount": {"N": str(number * 10 + month)}}


def run_archive_demo(console: Console, *, standin: StandIn | None = None) -> ArchiveAccount:
    """Synthesize, run three monthly exports and a daily check, recover one item; print and return the account."""
    account = ArchiveAccount()
    outdir = Path(tempfile.mkdtemp(prefix="tablesafe-demo-archive-"))
    own = standin is None
    # Started here and stopped in the finally below (StandIn.running()'s context manager, left unreferenced, would
    # be collected and stop the stand-in at once); moto's accounts live in the process, so the demo's tables before
    # this part are cleared first.
    if standin is None:
        standin = StandIn().start()
        standin.reset()
    try:
        with console.status("Synthesizing app.py with a monthly export rule ..."):
            assembly = synthesize(outdir, ARCHIVE_CONTEXT)
        with LambdaRunner(assembly, standin.env()) as runner:
            _simulate(assembly, runner, standin, account)
            _recover(standin, account)
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
        if own:
            standin.stop()
    for line in account.lines:
        console.print(line)
    for problem in account.problems:
        console.print(f"PROBLEM: {problem}", style="bold red")
    return account


def _simulate(assembly: CloudAssembly, runner: LambdaRunner, standin: StandIn, account: ArchiveAccount) -> None:
    ddb = standin.client("dynamodb")
    ddb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "account", "KeyType": "HASH"}, {"AttributeName": "entry", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "account", "AttributeType": "S"},
            {"AttributeName": "entry", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "backup-plan", "Value": "vault"}],
    )
    create_table(ddb, "scratch")  # untagged: never exported
    schedules = {s.event(MONTHS[0])["rule"]: s for s in assembly.schedules_for("tablesafe-backup")}
    standin.exporting_seconds = 3600
    for month in MONTHS:
        for start in range(0, 100, 25):
            batch = [{"PutRequest": {"Item": _entry(n, month.month)}} for n in range(start, start + 25)]
            ddb.batch_write_item(RequestItems={"ledger": batch})
        run = runner.invoke("tablesafe-backup", schedules["monthly"].event(month))
        again = runner.invoke("tablesafe-backup", schedules["monthly"].event(month))  # a duplicate delivery
        if not (run.ok and again.ok):
            account.problems.append(f"monthly run of {month:%Y-%m} failed: {run.error or again.error}")
            continue
        account.lines.append(
            f"{month:%Y-%m-%d} monthly export rule: {run.result['exportsStarted']} export started, the duplicate "
            f"delivery found {again.result['exportsAlreadyPresent']} already there"
        )
        standin.complete_exports()
        daily = runner.invoke("tablesafe-backup", schedules["daily"].event(month.replace(hour=3, day=2)))
        if not daily.ok:
            account.problems.append(f"daily run after {month:%Y-%m} failed: {daily.error}")
            continue
        account.lines.append(
            f"{month:%Y-%m}-02 daily run: {daily.result['created']} backup; its check of exports in flight: "
            f"ExportsCompleted {daily.metrics.get('ExportsCompleted', 0):g}, "
            f"ExportedBytes {daily.metrics.get('ExportedBytes', 0):g}"
        )
    arn = ddb.describe_table(TableName="ledger")["Table"]["TableArn"]
    exports = ddb.list_exports(TableArn=arn)["ExportSummaries"]
    if len(exports) != len(MONTHS):
        account.problems.append(f"expected one export per monthly slot ({len(MONTHS)}), DynamoDB has {len(exports)}")
    (bucket,) = assembly.buckets.values()
    keys = [o["Key"] for page in standin.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]  # fmt: skip
    slots = sorted({k.split("/")[6] for k in keys if k.endswith("/tablesafe-table.json")})
    account.lines.append(f"archive bucket {bucket}: {len(keys)} objects, slots {', '.join(slots)} of ledger")


def _recover(standin: StandIn, account: ArchiveAccount) -> None:
    from tablesafe_cli import main as cli

    ddb = standin.client("dynamodb")
    key = {"account": {"S": LOST["account"]}, "entry": {"N": str(LOST["entry"])}}
    before = ddb.get_item(TableName="ledger", Key=key)["Item"]
    ddb.delete_item(TableName="ledger", Key=key)
    account.lines.append(f"ledger entry {json.dumps(LOST)} deleted by mistake")
    argv = ["--region", "us-east-1"]
    found, out = _cli(cli, standin, ["find-items", "ledger", "--export", "latest", "--key", json.dumps(LOST), *argv])
    account.lines.append(f"$ tablesafe find-items ledger --export latest --key '{json.dumps(LOST)}'\n  {out.strip()}")
    code, copied = _cli(
        cli,
        standin,
        ["copy-items", "--from-export", "latest", "--to", "ledger", "--key", json.dumps(LOST), "--json", *argv],
    )
    back = ddb.get_item(TableName="ledger", Key=key).get("Item")
    summary = json.loads(copied) if code == 0 else {}
    account.lines.append(
        f"$ tablesafe copy-items --from-export latest --to ledger --key '{json.dumps(LOST)}'\n"
        f"  copied {summary.get('copied')}, skipped {summary.get('skipped')}, not found {summary.get('notFound')}"
    )
    if found != 0 or code != 0 or back != before:
        account.problems.append(f"the entry did not come back as it was (find {found}, copy {code}): {back}")
    else:
        account.lines.append("the entry is back as the November export held it")


def _cli(cli: Any, standin: StandIn, argv: list[str]) -> tuple[int, str]:
    import contextlib
    import os
    from unittest import mock

    out = StringIO()
    cwd = os.getcwd()
    # the CLI as an operator runs it against the stand-in: its endpoint and fake credentials in the environment
    with (
        tempfile.TemporaryDirectory() as empty,
        contextlib.redirect_stdout(out),
        mock.patch.dict(os.environ, standin.env()),
    ):
        os.chdir(empty)  # the CLI reads ./cdk.json: here the defaults (tag backup-plan)
        try:
            code = cli.main(argv)
        finally:
            os.chdir(cwd)
    return int(code), out.getvalue()
