"""AWS Backup's recovery points of DynamoDB tables, which moto 5.2.5 lacks (its backup backend has plans, vaults,
tags and report plans only: no recovery point, no ListProtectedResources).

It follows the AWS Backup API reference (developer guide, "API reference"):

- API_ListProtectedResources, `GET /resources/?maxResults=&nextToken=`: `Results` of every resource "successfully
  backed up by AWS Backup" (here: with a COMPLETED recovery point), each with ResourceArn, ResourceType
  (`DynamoDB`), ResourceName, LastBackupTime, LastBackupVaultArn and LastRecoveryPointArn; `NextToken` while more
  remain. Errors: InvalidParameterValueException (MaxResults outside 1..1000, a token it did not give).
- API_ListRecoveryPointsByResource, `GET /resources/{resourceArn}/recovery-points/?maxResults=&nextToken=
  &managedByAWSBackupOnly=`: `RecoveryPoints` (RecoveryPointArn, CreationDate, Status, BackupVaultName,
  BackupSizeBytes, IsParent, ResourceName, EncryptionKeyArn), paged likewise. Errors: InvalidParameterValueException
  (MaxResults, a token, a resourceArn that is no ARN), ResourceNotFoundException.
- Common errors: AccessDeniedException (HTTP 403) for a call the caller may not make, set by a test with `refuse`.

Where AWS leaves the behaviour open, the stand-in takes the stricter way, so that client bugs show up in tests:

- Order: by ARN, not by time (AWS documents none), so a client that takes the first point for the newest fails.
- Page size without MaxResults: 100 (AWS documents no default), so a client that ignores NextToken fails early.
- ResourceNotFoundException (listed without saying when): for an ARN naming neither an existing table nor any
  recovery point; an existing table with none answers an empty list.
- managedByAWSBackupOnly absent or false: "all recovery points associated with the selected resource", which the
  stand-in takes to include the table's DynamoDB backups made without AWS Backup (USER, SYSTEM), as points with no
  vault; true lists only AWS Backup's.

Recovery points are seeded with `add_recovery_point`. One of a table with AWS Backup's advanced features for
DynamoDB (ARN `arn:aws:backup:<region>:<account>:recovery-point:<uuid>`) exists only here; one of a table without
them is also a DynamoDB backup of type AWS_BACKUP, which ListBackups lists under the same ARN (API_ListBackups:
BackupType AWS_BACKUP, and "to retrieve the complete list of backups made with AWS Backup, use the AWS Backup list
API").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from tools.standin.fidelity import Fidelity
from tools.standin.protocol import AwsError, Reply, encode

if TYPE_CHECKING:
    from tools.standin.middleware import Call

MAX_RESULTS = 1000  # both calls: "Valid Range: Minimum value of 1. Maximum value of 1000."
DEFAULT_PAGE = 100  # AWS documents no default; smaller than the maximum, so paging is exercised
REST_JSON = "application/json"
RECOVERY_POINT_STATUSES = ("COMPLETED", "PARTIAL", "DELETING", "EXPIRED", "AVAILABLE", "STOPPED", "CREATING")
_PROTECTED = re.compile(r"^/resources/?$")
_BY_RESOURCE = re.compile(r"^/resources/([^/]+)/recovery-points/?$")


@dataclass
class RecoveryPointRecord:
    """One seeded recovery point."""

    arn: str
    resource_arn: str
    table: str
    created: datetime
    status: str
    vault: str
    size_bytes: int
    advanced: bool

    def answer(self) -> dict[str, Any]:
        return {
            "RecoveryPointArn": self.arn,
            "CreationDate": self.created,
            "Status": self.status,
            "BackupVaultName": self.vault,
            "BackupSizeBytes": self.size_bytes,
            "IsParent": False,
            "ResourceName": self.table,
        }


@dataclass(frozen=True)
class Refusal:
    """A test's refusal of one operation: the error, and whether only pages after the first get it."""

    code: str
    message: str
    status: int
    later_pages_only: bool


class AwsBackup:
    """The recovery points of every account and region, the two listings, and the knobs tests use."""

    def __init__(self, fidelity: Fidelity) -> None:
        self._fidelity = fidelity
        self._lock = threading.Lock()
        self._points: dict[tuple[str, str], dict[str, RecoveryPointRecord]] = {}
        self._refusals: dict[str, Refusal] = {}

    def reset(self) -> None:
        with self._lock:
            self._points.clear()
            self._refusals.clear()

    # -- control ---------------------------------------------------------------------------------------------------

    def add_recovery_point(
        self,
        account: str,
        region: str,
        table: str,
        *,
        vault: str = "Default",
        created: datetime | None = None,
        status: str = "COMPLETED",
        advanced: bool = True,
        size_bytes: int = 0,
    ) -> str:
        """A recovery point of `table` (which need not exist any more); returns its ARN. Not `advanced`: also a
        DynamoDB backup of type AWS_BACKUP, which ListBackups lists, under the same ARN."""
        if status not in RECOVERY_POINT_STATUSES:
            raise ValueError(f"status {status!r}: expected one of {RECOVERY_POINT_STATUSES}")
        when = created or datetime.now(UTC)
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)  # naive means UTC
        resource = f"arn:aws:dynamodb:{region}:{account}:table/{table}"
        if advanced:
            arn = f"arn:aws:backup:{region}:{account}:recovery-point:{str(uuid.uuid4()).upper()}"
        else:
            name = f"awsbackup-{uuid.uuid4().hex[:12]}"
            arn = self._fidelity.add_foreign_backup(account, region, table, name, "AWS_BACKUP", when)
            with self._fidelity.lock:
                size_bytes = self._fidelity.state(account, region).records[arn].size_bytes
        record = RecoveryPointRecord(arn, resource, table, when, status, vault, size_bytes, advanced)
        with self._lock:
            self._points.setdefault((account, region), {})[arn] = record
        return arn

    def refuse(
        self,
        operation: str,
        code: str = "AccessDeniedException",
        message: str = "",
        *,
        status: int = 403,
        later_pages_only: bool = False,
    ) -> None:
        """Calls of `operation` (ListProtectedResources, ListRecoveryPointsByResource) answer this error from now
        on; `later_pages_only`: only those carrying a NextToken, so a listing stops part-way."""
        text = message or f"User is not authorized to perform: backup:{operation}"
        with self._lock:
            self._refusals[operation] = Refusal(code, text, status, later_pages_only)

    def clear_refusals(self) -> None:
        with self._lock:
            self._refusals.clear()

    # -- the route in front of moto --------------------------------------------------------------------------------

    def route(self, call: Call) -> Reply | None:
        """Answer the two listings (StandInApp.routes); anything else of AWS Backup goes on to moto."""
        if call.service != "backup" or call.environ.get("REQUEST_METHOD") != "GET":
            return None
        raw = str(call.environ.get("RAW_URI") or call.environ.get("REQUEST_URI") or call.environ.get("PATH_INFO"))
        path = raw.partition("?")[0]
        query = {k: v[-1] for k, v in parse_qs(str(call.environ.get("QUERY_STRING", ""))).items()}
        by_resource = _BY_RESOURCE.match(path)
        if by_resource is None and not _PROTECTED.match(path):
            return None
        call.operation = "ListRecoveryPointsByResource" if by_resource else "ListProtectedResources"
        try:
            self._check_refusal(call.operation, query)
            if by_resource:
                payload = self.list_by_resource(call.account, call.region, unquote(by_resource.group(1)), query)
            else:
                payload = self.list_protected(call.account, call.region, query)
        except AwsError as error:
            return _error(error)
        return Reply(200, encode(payload), [("Content-Type", REST_JSON)])

    def list_protected(self, account: str, region: str, query: dict[str, str]) -> dict[str, Any]:
        """API_ListProtectedResources: one result per table with a COMPLETED recovery point, by ARN."""
        size = _page_size(query)
        with self._lock:
            points = list(self._points.get((account, region), {}).values())
        newest: dict[str, RecoveryPointRecord] = {}
        for point in points:
            if point.status == "COMPLETED":
                known = newest.get(point.resource_arn)
                if known is None or point.created > known.created:
                    newest[point.resource_arn] = point
        rows = [
            {
                "ResourceArn": arn,
                "ResourceType": "DynamoDB",
                "ResourceName": point.table,
                "LastBackupTime": point.created,
                "LastBackupVaultArn": f"arn:aws:backup:{region}:{account}:backup-vault:{point.vault}",
                "LastRecoveryPointArn": point.arn,
            }
            for arn, point in sorted(newest.items())
        ]
        return _page(rows, "Results", "ResourceArn", query.get("nextToken"), size)

    def list_by_resource(self, account: str, region: str, resource: str, query: dict[str, str]) -> dict[str, Any]:
        """API_ListRecoveryPointsByResource: the resource's points by ARN (see the module's notes)."""
        size = _page_size(query)
        if not resource.startswith("arn:"):
            raise AwsError("InvalidParameterValueException", f"Invalid ARN: {resource}")
        with self._lock:
            points = [p for p in self._points.get((account, region), {}).values() if p.resource_arn == resource]
        rows = [p.answer() for p in points]
        if query.get("managedByAWSBackupOnly", "false").lower() != "true":
            rows += self._other_backups(account, region, resource, {p.arn for p in points})
        table = resource.partition(":table/")[2]
        with self._fidelity.lock:
            exists = table in self._fidelity.backend(account, region).tables
        if not rows and not exists:
            raise AwsError("ResourceNotFoundException", f"Resource not found: {resource}")
        rows.sort(key=lambda row: row["RecoveryPointArn"])
        return _page(rows, "RecoveryPoints", "RecoveryPointArn", query.get("nextToken"), size)

    def _other_backups(self, account: str, region: str, resource: str, seen: set[str]) -> list[dict[str, Any]]:
        """The table's DynamoDB backups made without AWS Backup, as points "associated with the resource"."""
        with self._fidelity.lock:
            records = list(self._fidelity.state(account, region).records.values())
        return [
            {
                "RecoveryPointArn": r.arn,
                "CreationDate": r.created,
                "Status": "COMPLETED",
                "BackupSizeBytes": r.size_bytes,
                "IsParent": False,
                "ResourceName": r.table_name,
            }
            for r in records
            if r.table_arn == resource and not r.deleted and r.arn not in seen and r.backup_type != "AWS_BACKUP"
        ]

    def _check_refusal(self, operation: str, query: dict[str, str]) -> None:
        with self._lock:
            refusal = self._refusals.get(operation)
        if refusal is not None and (query.get("nextToken") or not refusal.later_pages_only):
            raise AwsError(refusal.code, refusal.message, refusal.status)


def _page_size(query: dict[str, str]) -> int:
    raw = query.get("maxResults")
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_RESULTS:
        raise AwsError("InvalidParameterValueException", f"MaxResults must be between 1 and {MAX_RESULTS}: {raw}")
    return int(raw)


def _page(rows: list[dict[str, Any]], key: str, id_key: str, token: str | None, size: int) -> dict[str, Any]:
    """The page after the token's ARN (rows sorted by `id_key`), and a NextToken while more remain."""
    start = 0
    if token:
        after = _decode(token)
        start = next((i for i, row in enumerate(rows) if row[id_key] > after), len(rows))
    page = rows[start : start + size]
    answer: dict[str, Any] = {key: page}
    if start + size < len(rows):
        answer["NextToken"] = base64.urlsafe_b64encode(json.dumps({"after": page[-1][id_key]}).encode()).decode()
    return answer


def _decode(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise AwsError("InvalidParameterValueException", f"Invalid NextToken: {token}") from error
    if not isinstance(after, str):
        raise AwsError("InvalidParameterValueException", f"Invalid NextToken: {token}")
    return after


def _error(error: AwsError) -> Reply:
    """A REST-JSON error: the code in x-amzn-ErrorType and in the body, where botocore looks for it."""
    body = encode({"__type": error.code, "Code": error.code, "Message": error.message, "message": error.message})
    return Reply(error.status, body, [("Content-Type", REST_JSON), ("x-amzn-ErrorType", error.code)])
