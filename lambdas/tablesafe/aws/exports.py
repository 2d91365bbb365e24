"""The export gateway: DynamoDB's exports to S3, the archive bucket's objects, and the in-flight register
(aws/export_register.py; the settings written beside each export: aws/export_settings.py).

It receives its clients (DynamoDB, S3, and the DynamoDB client of the stack's lease table, which also holds one
item per export in flight) and returns plain dataclasses; AWS errors become the aws.dynamodb GatewayErrors.
ExportTableToPointInTime is retried by botocore like any idempotent call: its ClientToken makes it so (AWS answers
a repeat within 8 hours with the first export).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from tablesafe.aws.clients import client_config
from tablesafe.aws.dynamodb import as_datetime
from tablesafe.aws.errors import GatewayError, call
from tablesafe.aws.export_register import ExportRegister
from tablesafe.aws.export_register import InFlight as InFlight
from tablesafe.aws.export_settings import settings_document
from tablesafe.constants import ENV_ARCHIVE_BUCKET, ENV_ARCHIVE_KMS_KEY, ENV_ARCHIVE_OWNER, ENV_LEASE_TABLE
from tablesafe.rules.export_naming import ExportSlot, export_id_of


@dataclass(frozen=True)
class ExportInfo:
    """One export as DescribeExport (or ExportTableToPointInTime) describes it."""

    arn: str
    status: str  # IN_PROGRESS | COMPLETED | FAILED
    table_arn: str
    bucket: str = ""
    prefix: str = ""
    started: datetime | None = None
    ended: datetime | None = None
    item_count: int = 0
    billed_bytes: int = 0
    manifest: str = ""  # the key of manifest-summary.json, once COMPLETED
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class ObjectVersion:
    """One version (or delete marker) of an archive object."""

    key: str
    version_id: str
    size: int = 0


@dataclass(frozen=True)
class ArchiveTarget:
    """Where exports go: the bucket, its owner (S3BucketOwner, ExpectedBucketOwner) and the KMS key, if any."""

    bucket: str
    owner: str | None = None
    kms_key_arn: str | None = None


class ExportGateway:
    """Exports of one region's tables into one archive bucket."""

    def __init__(
        self, *, dynamodb: Any, s3: Any, archive: ArchiveTarget, register: Any = None, register_table: str = ""
    ) -> None:
        self._dynamodb = dynamodb
        self._s3 = s3
        self.archive = archive
        self._register = ExportRegister(register, register_table) if register is not None and register_table else None
        self.region: str = dynamodb.meta.region_name

    @classmethod
    def from_env(cls, session: boto3.Session | None = None, environ: Mapping[str, str] = os.environ) -> ExportGateway:
        """The function's gateway: the archive and the register (lease table) from the environment the stack sets."""
        bucket = environ.get(ENV_ARCHIVE_BUCKET, "").strip()
        if not bucket:
            raise RuntimeError(f"environment variable {ENV_ARCHIVE_BUCKET} is missing: the stack sets it for exports")
        session = session or boto3.Session()
        config = client_config(max_attempts=8, max_connections=8, agent="tablesafe-export")
        target = ArchiveTarget(
            bucket=bucket,
            owner=environ.get(ENV_ARCHIVE_OWNER, "").strip() or None,
            kms_key_arn=environ.get(ENV_ARCHIVE_KMS_KEY, "").strip() or None,
        )
        dynamodb = session.client("dynamodb", config=config)
        return cls(
            dynamodb=dynamodb,
            s3=session.client("s3", config=config),
            archive=target,
            register=dynamodb,
            register_table=environ.get(ENV_LEASE_TABLE, "").strip(),
        )

    # -- tables ----------------------------------------------------------------------------------------------------

    def table_settings(self, table: str) -> dict[str, Any]:
        """What a restore needs and an export does not hold (aws/export_settings.py), from DescribeTable and
        DescribeTimeToLive."""
        described = self._call(self._dynamodb, self._dynamodb.describe_table, "DescribeTable", TableName=table)["Table"]
        ttl = self._call(self._dynamodb, self._dynamodb.describe_time_to_live, "DescribeTimeToLive", TableName=table)
        return settings_document(described, ttl.get("TimeToLiveDescription", {}))

    # -- exports ---------------------------------------------------------------------------------------------------

    def start_export(self, table_arn: str, slot: ExportSlot, client_token: str) -> ExportInfo:
        """ExportTableToPointInTime of the table, now, in DynamoDB JSON, under the slot's prefix."""
        params: dict[str, Any] = {
            "TableArn": table_arn,
            "S3Bucket": self.archive.bucket,
            "S3Prefix": slot.prefix,
            "ExportFormat": "DYNAMODB_JSON",
            "ExportType": "FULL_EXPORT",
            "ClientToken": client_token,
        }
        if self.archive.owner:
            params["S3BucketOwner"] = self.archive.owner
        if self.archive.kms_key_arn:
            params.update(S3SseAlgorithm="KMS", S3SseKmsKeyId=self.archive.kms_key_arn)
        answer = self._call(
            self._dynamodb, self._dynamodb.export_table_to_point_in_time, "ExportTableToPointInTime", **params
        )
        return export_info(answer["ExportDescription"])

    def describe_export(self, export_arn: str) -> ExportInfo | None:
        """The export, or None when DynamoDB knows no such export."""
        try:
            answer = self._call(self._dynamodb, self._dynamodb.describe_export, "DescribeExport", ExportArn=export_arn)
        except GatewayError as error:
            if error.code == "ExportNotFoundException":
                return None
            raise
        return export_info(answer["ExportDescription"])

    def slot_export_ids(self, slot: ExportSlot) -> list[str]:
        """The ExportId folders DynamoDB made under the slot's prefix (each export writes `_started` when it begins)."""
        ids: list[str] = []
        params: dict[str, Any] = {"Bucket": self.archive.bucket, "Prefix": slot.exports_folder, "Delimiter": "/"}
        if self.archive.owner:
            params["ExpectedBucketOwner"] = self.archive.owner
        while True:
            page = self._call(self._s3, self._s3.list_objects_v2, "ListObjectsV2", **params)
            for common in page.get("CommonPrefixes", []):
                export_id = export_id_of(common["Prefix"], slot)
                if export_id is not None:
                    ids.append(export_id)
            if not page.get("IsTruncated"):
                return ids
            params["ContinuationToken"] = page["NextContinuationToken"]

    def has_object(self, key: str) -> bool:
        params: dict[str, Any] = {"Bucket": self.archive.bucket, "Key": key}
        if self.archive.owner:
            params["ExpectedBucketOwner"] = self.archive.owner
        try:
            self._call(self._s3, self._s3.head_object, "HeadObject", **params)
        except GatewayError as error:
            if error.code in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put_json(self, key: str, body: Mapping[str, Any]) -> None:
        """One small JSON object, encrypted with the archive's key when it has one."""
        params: dict[str, Any] = {
            "Bucket": self.archive.bucket,
            "Key": key,
            "Body": json.dumps(body, sort_keys=True, indent=1).encode(),
            "ContentType": "application/json",
            "ChecksumAlgorithm": "SHA256",  # Object Lock buckets refuse a PutObject without an integrity checksum
        }
        if self.archive.owner:
            params["ExpectedBucketOwner"] = self.archive.owner
        if self.archive.kms_key_arn:
            params.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.archive.kms_key_arn)
        self._call(self._s3, self._s3.put_object, "PutObject", **params)

    # -- pruning ---------------------------------------------------------------------------------------------------

    def list_versions(self, prefix: str) -> list[ObjectVersion]:
        """Every version and delete marker under `prefix` (all pages; a page that fails raises, so a caller never
        decides on part of the listing)."""
        found: list[ObjectVersion] = []
        params: dict[str, Any] = {"Bucket": self.archive.bucket, "Prefix": prefix}
        if self.archive.owner:
            params["ExpectedBucketOwner"] = self.archive.owner
        while True:
            page = self._call(self._s3, self._s3.list_object_versions, "ListObjectVersions", **params)
            for raw in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                found.append(ObjectVersion(raw["Key"], raw.get("VersionId") or "null", int(raw.get("Size", 0) or 0)))
            if not page.get("IsTruncated"):
                return found
            params["KeyMarker"] = page.get("NextKeyMarker")
            params["VersionIdMarker"] = page.get("NextVersionIdMarker")

    def delete_versions(self, versions: list[ObjectVersion]) -> list[str]:
        """Delete these versions for good (DeleteObjects, 1000 a call); returns one line per version S3 refused
        (Object Lock still holds it, or access is denied)."""
        refused: list[str] = []
        for start in range(0, len(versions), 1000):
            chunk = versions[start : start + 1000]
            params: dict[str, Any] = {
                "Bucket": self.archive.bucket,
                "Delete": {"Objects": [{"Key": v.key, "VersionId": v.version_id} for v in chunk], "Quiet": True},
                "ChecksumAlgorithm": "SHA256",
            }
            if self.archive.owner:
                params["ExpectedBucketOwner"] = self.archive.owner
            answer = self._call(self._s3, self._s3.delete_objects, "DeleteObjects", **params)
            refused.extend(f"{e.get('Key')} ({e.get('VersionId')}): {e.get('Code')}" for e in answer.get("Errors", []))
        return refused

    # -- the in-flight register (aws/export_register.py) -------------------------------------------------------

    def track(self, item: InFlight) -> None:
        """Remember an export until a check reports its end; idempotent, and a no-op once it was reported."""
        self._registry().track(item)

    def in_flight(self) -> list[InFlight]:
        """Every export the register holds as in flight."""
        return self._registry().in_flight()

    def close(self, export_arn: str, status: str) -> bool:
        """Mark an in-flight export reported; False when another check did it first (so only one reports it)."""
        return self._registry().close(export_arn, status)

    def _registry(self) -> ExportRegister:
        if self._register is None:
            raise RuntimeError("this ExportGateway was built without the register (the lease table)")
        return self._register

    # -- plumbing --------------------------------------------------------------------------------------------------

    @staticmethod
    def _call(client: Any, method: Callable[..., dict[str, Any]], operation: str, **params: Any) -> dict[str, Any]:
        return call(operation, client, lambda: method(**params))


def export_info(description: Mapping[str, Any]) -> ExportInfo:
    """An ExportDescription as an ExportInfo."""
    return ExportInfo(
        arn=description["ExportArn"],
        status=description.get("ExportStatus", "IN_PROGRESS"),
        table_arn=description.get("TableArn", ""),
        bucket=description.get("S3Bucket", ""),
        prefix=description.get("S3Prefix", ""),
        started=as_datetime(description["StartTime"]) if "StartTime" in description else None,
        ended=as_datetime(description["EndTime"]) if "EndTime" in description else None,
        item_count=int(description.get("ItemCount", 0) or 0),
        billed_bytes=int(description.get("BilledSizeBytes", 0) or 0),
        manifest=description.get("ExportManifest", ""),
        failure_code=description.get("FailureCode", "") or "",
        failure_message=description.get("FailureMessage", "") or "",
    )
