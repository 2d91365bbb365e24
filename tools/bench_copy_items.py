"""Benchmark: `tablesafe copy-items` copies 100,000 items on the AWS stand-in; prints items per second.

Run with `python -m tools.bench_copy_items [--items N]`. It starts the stand-in (tools/standin) in a process of its
own, fills a "restored" table, then runs the CLI itself (in-process, as an operator would run it) three times into
an empty "live" table: the default skip-existing mode (a key look-up, then a conditional PutItem per absent item),
skip-existing again over the now full table (every item skipped), and overwrite (BatchWriteItem, 25 a call).
Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection

import boto3

from tablesafe_cli import main as cli

REGION = "us-east-1"


def _serve(connection: Connection) -> None:
    """Child process: run the stand-in, send its endpoint, serve until the parent says stop."""
    from tools.standin import StandIn

    with StandIn.running(region=REGION) as server:
        connection.send(server.endpoint_url)
        connection.recv()


@contextlib.contextmanager
def standin() -> Iterator[str]:
    """The project's AWS stand-in in a process of its own (as AWS is: in this process it would share the GIL with
    the client); yields its endpoint URL."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise SystemExit("the stand-in did not start")
        yield str(parent.recv())
    finally:
        parent.send("stop")
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def fill(client: object, table: str, count: int) -> None:
    """Write `count` items of about 200 bytes, 25 a call, from a few threads."""

    def batch(start: int) -> None:
        items = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": {"S": f"customer#{i % 5000:05d}"},
                        "sk": {"N": str(i)},
                        "status": {"S": "open" if i % 3 else "closed"},
                        "payload": {"S": "x" * 150},
                    }
                }
            }
            for i in range(start, min(start + 25, count))
        ]
        pending = {table: items}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}  # type: ignore[attr-defined]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(batch, range(0, count, 25)))


def make_table(client: object, name: str) -> None:
    client.create_table(  # type: ignore[attr-defined]
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def copy(*extra: str) -> dict[str, object]:
    """Run `tablesafe copy-items` in-process and return its JSON report."""
    out = io.StringIO()
    argv = ["copy-items", "--from", "restored", "--to", "live", "--filter", "attribute_exists(pk)", "--json", *extra]
    with contextlib.redirect_stdout(out):
        code = cli.main(argv)
    report = json.loads(out.getvalue())
    if code != 0 or report["failed"]:
        raise SystemExit(f"copy-items failed (exit {code}): {len(report['failed'])} items failed")
    return report  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    with standin() as endpoint:
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
        )
        client = boto3.client("dynamodb", region_name=REGION)
        make_table(client, "restored")
        make_table(client, "live")
        started = time.monotonic()
        fill(client, "restored", args.items)
        print(f"filled 'restored' with {args.items} items in {time.monotonic() - started:.0f} s")
        workers = ("--workers", str(args.workers))
        runs = [
            ("skip-existing, live table empty (conditional PutItem per item)", copy(*workers)),
            ("skip-existing, every item present (all skipped)", copy(*workers)),
            ("overwrite (BatchWriteItem, 25 a call)", copy("--mode", "overwrite", *workers)),
        ]
        print(f"copy-items of {args.items} items, {args.workers} writers, 8 scan segments, endpoint {endpoint}:")
        for label, report in runs:
            print(
                f"  {label}: copied {report['copied']}, skipped {report['skipped']}, "
                f"{report['seconds']:.1f} s, {report['itemsPerSecond']:.0f} items/s"
            )


if __name__ == "__main__":
    main()
