"""The CLI's reads of exports: which exports a table has, their manifests and settings, their data files as streams,
and ImportTable for a restore. Receives its clients; AWS errors become aws.errors' GatewayErrors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import boto3

from tablesafe.aws.clients import client_config
from tablesafe.aws.errors import GatewayError, call
from tablesafe.aws.exports import ExportInfo, ObjectVersion, export_info


class ExportReads:
    """Exports of one region's tables, and the S3 objects they are made of."""

    def __init__(self, *, dynamodb: Any, s3: Any) -> None:
        self._dynamodb = dynamodb
        self._s3 = s3
        self.region: str = dynamodb.meta.region_name

    @classmethod
    def from_session(cls, profile: str | None, region: str | None) -> ExportReads:
        session = boto3.Session(profile_name=profile, region_name=region)
        config = client_config(max_attempts=8, max_connections=16, agent="tablesafe-cli")
        return cls(dynamodb=session.client("dynamodb", config=config), s3=session.client("s3", config=config))

    def table_exports(self, table_arn: str | None) -> list[str]:
        """The ARNs of every export of the table (None: of every table of the region) ListExports knows (all pages;
        botocore has no paginator)."""
        arns: list[str] = []
        params: dict[str, Any] = {"MaxResults": 25}
        if table_arn is not None:
            params["TableArn"] = table_arn
        while True:
            page = self._send(self._dynamodb, "ListExports", self._dynamodb.list_exports, **params)
            arns.extend(s["ExportArn"] for s in page.get("ExportSummaries", []))
            if not page.get("NextToken"):
                return arns
            params["NextToken"] = page["NextToken"]

    def describe(self, export_arn: str) -> ExportInfo:
        answer = self._send(self._dynamodb, "DescribeExport", self._dynamodb.describe_export, ExportArn=export_arn)
        return export_info(answer["ExportDescription"])

    def get_json(self, bucket: str, key: str, owner: str | None = None) -> Any:
        return json.loads(self.open(bucket, key, owner).read())

    def get_lines(self, bucket: str, key: str, owner: str | None = None) -> list[dict[str, Any]]:
        """A JSON-lines object (manifest-files.json)."""
        text = self.open(bucket, key, owner).read().decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def open(self, bucket: str, key: str, owner: str | None = None) -> BinaryIO:
        """The object's body as a stream (read as it comes: memory stays bounded whatever its size)."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if owner:
            params["ExpectedBucketOwner"] = owner
        answer = self._send(self._s3, "GetObject", self._s3.get_object, **params)
        body: BinaryIO = answer["Body"]
        return body

    def list_versions(self, bucket: str, prefix: str, owner: str | None = None) -> list[ObjectVersion]:
        """Every version and delete marker under `prefix` (all pages; a page that fails raises)."""
        found: list[ObjectVersion] = []
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if owner:
            params["ExpectedBucketOwner"] = owner
        while True:
            page = self._send(self._s3, "ListObjectVersions", self._s3.list_object_versions, **params)
            for raw in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                found.append(ObjectVersion(raw["Key"], raw.get("VersionId") or "null", int(raw.get("Size", 0) or 0)))
            if not page.get("IsTruncated"):
                return found
            params["KeyMarker"] = page.get("NextKeyMarker")
            params["VersionIdMarker"] = page.get("NextVersionIdMarker")

    def head(self, bucket: str, key: str, owner: str | None = None) -> tuple[str, str | None]:
        """(storage class, Object Lock retain-until as ISO text or None) of one object."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if owner:
            params["ExpectedBucketOwner"] = owner
        answer = self._send(self._s3, "HeadObject", self._s3.head_object, **params)
        until = answer.get("ObjectLockRetainUntilDate")
        return str(answer.get("StorageClass") or "STANDARD"), until.isoformat() if until is not None else None

    def import_table(self, bucket: str, prefix: str, owner: str | None, creation: Mapping[str, Any]) -> str:
        """ImportTable of an export's data files (DynamoDB JSON, GZIP) into a new table; returns the import's ARN."""
        source: dict[str, Any] = {"S3Bucket": bucket, "S3KeyPrefix": prefix}
        if owner:
            source["S3BucketOwner"] = owner
        answer = self._send(
            self._dynamodb,
            "ImportTable",
            self._dynamodb.import_table,
            S3BucketSource=source,
            InputFormat="DYNAMODB_JSON",
            InputCompressionType="GZIP",
            TableCreationParameters=dict(creation),
        )
        return str(answer["ImportTableDescription"]["ImportArn"])

    def import_status(self, import_arn: str) -> tuple[str, int, str]:
        """(ImportStatus, ImportedItemCount, failure text)."""
        answer = self._send(self._dynamodb, "DescribeImport", self._dynamodb.describe_import, ImportArn=import_arn)
        found = answer["ImportTableDescription"]
        failure = " ".join(str(found.get(k) or "") for k in ("FailureCode", "FailureMessage")).strip()
        return str(found.get("ImportStatus", "")), int(found.get("ImportedItemCount", 0) or 0), failure

    @staticmethod
    def _send(client: Any, operation: str, method: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
        return call(operation, client, lambda: method(**params))


__all__ = ["ExportReads", "GatewayError"]
