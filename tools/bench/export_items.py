"""find-items over a large export: how fast the CLI streams an export's gzipped files, and how little it keeps.

The export is written straight into the stand-in's S3 in DynamoDB's output format (data/*.json.gz of `{"Item": ...}`
lines, manifest-files.json, manifest-summary.json, tablesafe-table.json): the export run itself is not what is
measured, and a million items through moto's table and export would take longer than the read. Then
`tablesafe_cli.export_source.find` (what `find-items` runs) reads it through boto3's streaming GetObject, looking
for keys spread through the export plus one that is not in it, so every byte is read. Figures: compressed and
uncompressed MB/s, items/s, and the peak of Python allocations during the read (tracemalloc, a second pass).
"""

from __future__ import annotations

import gzip
import json
import random
import resource
import time
import tracemalloc
from typing import Any

import boto3

from tools.bench.model import Figures
from tools.bench.scenarios import Result

BUCKET = "bench-archive"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
EXPORT_ID = "01764547200000-0bench00"
PREFIX = "tablesafe/123456789012/us-east-1/orders/gfs/monthly/20261201T0400Z"
ITEMS_PER_FILE = 100_000


def _item(index: int, rng: random.Random) -> dict[str, Any]:
    return {
        "pk": {"S": f"customer#{index % 9973}"},
        "sk": {"N": str(index)},
        "status": {"S": rng.choice(("open", "closed", "shipped"))},
        "total": {"N": f"{rng.randrange(100, 100000) / 100:.2f}"},
        "note": {"S": f"{rng.getrandbits(256):064x}"},
    }


def write_export(s3: Any, items: int) -> tuple[list[str], int, int]:
    """The export's objects; returns (data keys, compressed bytes, uncompressed bytes)."""
    s3.create_bucket(Bucket=BUCKET)
    rng = random.Random(7)
    root = f"{PREFIX}/AWSDynamoDB/{EXPORT_ID}"
    keys, packed, raw = [], 0, 0
    manifest = []
    for number, start in enumerate(range(0, items, ITEMS_PER_FILE)):
        lines = "".join(
            json.dumps({"Item": _item(i, rng)}) + "\n" for i in range(start, min(start + ITEMS_PER_FILE, items))
        ).encode()
        data = gzip.compress(lines, compresslevel=6)
        key = f"{root}/data/bench{number:04d}.json.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        keys.append(key)
        packed, raw = packed + len(data), raw + len(lines)
        manifest.append(json.dumps({"itemCount": min(ITEMS_PER_FILE, items - start), "dataFileS3Key": key}))
    s3.put_object(Bucket=BUCKET, Key=f"{root}/manifest-files.json", Body="\n".join(manifest).encode())
    summary = {"manifestFilesS3Key": f"{root}/manifest-files.json", "itemCount": items, "outputFormat": "DYNAMODB_JSON"}
    s3.put_object(Bucket=BUCKET, Key=f"{root}/manifest-summary.json", Body=json.dumps(summary).encode())
    return keys, packed, raw


def find_items(cloud: Any, name: str, *, items: int) -> Result:
    from tablesafe.aws.export_reads import ExportReads
    from tablesafe.aws.exports import ExportInfo
    from tablesafe_cli.export_source import ExportSource, find

    env = cloud.env()
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
        region_name="us-east-1",
    )
    s3 = session.client("s3", endpoint_url=cloud.endpoint())
    cloud.configure(latency_ms=0.0, rate_scale=None)
    data_keys, packed, raw = write_export(s3, items)
    reads = ExportReads(dynamodb=session.client("dynamodb", endpoint_url=cloud.endpoint()), s3=s3)
    info = ExportInfo(
        arn=f"{TABLE_ARN}/export/{EXPORT_ID}",
        status="COMPLETED",
        table_arn=TABLE_ARN,
        bucket=BUCKET,
        prefix=PREFIX,
        manifest=f"{PREFIX}/AWSDynamoDB/{EXPORT_ID}/manifest-summary.json",
    )
    settings = {
        "tableName": "orders",
        "keySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "attributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
    }
    source = ExportSource(info, settings, data_keys)
    wanted = [i * (items // 10) + 17 for i in range(10)]
    keys = [{"pk": {"S": f"customer#{i % 9973}"}, "sk": {"N": str(i)}} for i in wanted]
    keys.append({"pk": {"S": "nobody"}, "sk": {"N": "-1"}})  # not in the export: everything is read

    read = [0]
    started = time.monotonic()
    cpu = time.process_time()
    found, missing = find(source, reads, keys, on_bytes=lambda n: read.__setitem__(0, read[0] + n))
    seconds = time.monotonic() - started
    cpu = time.process_time() - cpu
    tracemalloc.start()
    find(source, reads, keys)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    problems = []
    if len(found) != 10 or len(missing) != 1:
        problems.append(f"found {len(found)} of 10 keys, {len(missing)} missing (expected 1)")
    if read[0] != packed:
        problems.append(f"read {read[0]} compressed bytes, the export has {packed}")
    figures = Figures(
        name=name,
        description=f"find-items of 11 keys (one absent) over an export of {items:,} items in {len(data_keys)} files",
        wall_seconds=seconds,
        floor_seconds=0.0,
        floor_note="no floor: bounded by gzip and JSON decoding on one core",
        calls={"GetObject": len(data_keys)},
        minimum={"GetObject": len(data_keys)},
        client_cpu_seconds=cpu,
        judged=False,
        notes={
            "items": items,
            "compressed_mb": round(packed / 1e6, 1),
            "uncompressed_mb": round(raw / 1e6, 1),
            "compressed_mb_per_s": round(packed / 1e6 / seconds, 1),
            "uncompressed_mb_per_s": round(raw / 1e6 / seconds, 1),
            "items_per_s": round(items / seconds),
            "peak_python_alloc_mb": round(peak / 1e6, 1),
            "max_rss_mb_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    )
    return Result(figures, problems)
