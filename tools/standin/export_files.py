"""The objects an export leaves in S3 ("DynamoDB table export output format"), and the export's record.

`<prefix>/AWSDynamoDB/<ExportId>/`: `_started` when the export begins; at completion `data/<name>.json.gz` (gzipped
lines of `{"Item": {...}}` in DynamoDB JSON; an empty table still gets one empty file, as an empty partition does),
`manifest-files.json` (a JSON object a line: itemCount, md5Checksum, etag, dataFileS3Key), `manifest-summary.json`,
and a `.checksum` of each manifest.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.s3.models import s3_backends

ITEMS_PER_FILE = 10_000  # AWS writes at least one file per partition; the stand-in one per this many items
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


@dataclass
class ExportRecord:
    """One export: the request, its state, and the items it will write."""

    arn: str
    export_id: str
    account: str
    table_arn: str
    table_id: str
    bucket: str
    bucket_owner: str
    prefix: str
    request: dict[str, Any]  # the parameters a repeated ClientToken must match
    client_token: str
    start_time: datetime
    export_time: datetime
    ready_at: float  # time.monotonic() after which the export is no longer IN_PROGRESS
    token_until: float  # time.monotonic() until which the ClientToken answers this export
    lines: list[str] = field(default_factory=list)
    billed_bytes: int = 0
    item_count: int = 0
    failure: tuple[str, str] | None = None
    status: str = "IN_PROGRESS"
    end_time: datetime | None = None

    @property
    def root(self) -> str:
        """The export's own folder: `<prefix>/AWSDynamoDB/<ExportId>/` (no prefix: `AWSDynamoDB/<ExportId>/`)."""
        base = f"{self.prefix.rstrip('/')}/" if self.prefix else ""
        return f"{base}AWSDynamoDB/{self.export_id}/"

    def description(self) -> dict[str, Any]:
        """API_ExportDescription."""
        answer: dict[str, Any] = {
            "ExportArn": self.arn,
            "ExportStatus": self.status,
            "StartTime": self.start_time.timestamp(),
            "TableArn": self.table_arn,
            "TableId": self.table_id,
            "ExportTime": self.export_time.timestamp(),
            "ClientToken": self.client_token,
            "S3Bucket": self.bucket,
            "S3BucketOwner": self.bucket_owner,
            "S3Prefix": self.prefix,
            "S3SseAlgorithm": self.request.get("S3SseAlgorithm") or "AES256",
            "ExportFormat": "DYNAMODB_JSON",
            "ExportType": "FULL_EXPORT",
        }
        if self.request.get("S3SseKmsKeyId"):
            answer["S3SseKmsKeyId"] = self.request["S3SseKmsKeyId"]
        if self.end_time is not None:
            answer["EndTime"] = self.end_time.timestamp()
        if self.status == "COMPLETED":
            answer.update(
                ExportManifest=f"{self.root}manifest-summary.json",
                BilledSizeBytes=self.billed_bytes,
                ItemCount=self.item_count,
            )
        if self.status == "FAILED" and self.failure is not None:
            answer.update(FailureCode=self.failure[0], FailureMessage=self.failure[1])
        return answer


def bucket_of(record: ExportRecord) -> Any:
    return s3_backends[record.bucket_owner]["aws"].buckets.get(record.bucket)


def put(record: ExportRecord, key: str, value: bytes) -> str:
    """Write one object; returns its ETag (hex MD5, unquoted)."""
    s3_backends[record.bucket_owner]["aws"].put_object(record.bucket, key, value)
    return hashlib.md5(value).hexdigest()


def finish(record: ExportRecord, items_per_file: int = ITEMS_PER_FILE) -> None:
    """End the export: FAILED (no manifest) if it was to fail or has no bucket, else write its files."""
    record.end_time = datetime.now(UTC)
    if record.failure is not None or bucket_of(record) is None:
        record.failure = record.failure or ("S3NoSuchBucket", "The specified bucket does not exist")
        record.status = "FAILED"
        return
    manifest_lines = []
    chunks = [record.lines[i : i + items_per_file] for i in range(0, len(record.lines), items_per_file)]
    for chunk in chunks or [[]]:
        name = "".join(secrets.choice(_BASE32) for _ in range(26))
        key = f"{record.root}data/{name}.json.gz"
        data = gzip.compress("".join(f"{line}\n" for line in chunk).encode(), mtime=0)
        etag = put(record, key, data)
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
        manifest_lines.append(
            json.dumps({"itemCount": len(chunk), "md5Checksum": md5, "etag": etag, "dataFileS3Key": key})
        )
    files = "".join(f"{line}\n" for line in manifest_lines).encode()
    files_key = f"{record.root}manifest-files.json"
    put(record, files_key, files)
    put(record, f"{record.root}manifest-files.checksum", hashlib.md5(files).hexdigest().encode())
    summary = json.dumps(_summary(record, files_key)).encode()
    put(record, f"{record.root}manifest-summary.json", summary)
    put(record, f"{record.root}manifest-summary.checksum", hashlib.md5(summary).hexdigest().encode())
    record.status = "COMPLETED"
    record.lines = []  # the items now live in S3 only


def _summary(record: ExportRecord, files_key: str) -> dict[str, Any]:
    """manifest-summary.json, with the fields the output-format page lists."""
    assert record.end_time is not None
    return {
        "version": "2020-06-30",
        "exportArn": record.arn,
        "startTime": _iso(record.start_time),
        "endTime": _iso(record.end_time),
        "tableArn": record.table_arn,
        "tableId": record.table_id,
        "exportTime": _iso(record.export_time),
        "s3Bucket": record.bucket,
        "s3Prefix": record.prefix or None,
        "s3SseAlgorithm": record.request.get("S3SseAlgorithm") or "AES256",
        "s3SseKmsKeyId": record.request.get("S3SseKmsKeyId"),
        "manifestFilesS3Key": files_key,
        "billedSizeBytes": record.billed_bytes,
        "itemCount": record.item_count,
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
