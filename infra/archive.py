"""The archive tier: the bucket exports go to, the backup function's export grants, and the archive-account stack.

`ArchiveBucket` is the bucket with its protections: versioned, S3 Object Lock (the configured mode, retention =
the shortest export rule's retentionDays), a KMS key of its own, all public access blocked, a policy denying
requests without TLS, bucket-owner-enforced ownership, a lifecycle rule moving exports to the storage class.
`ArchiveExports` (in each regional stack, when a plan has an export rule) makes that bucket when `bucketArn` is not
given, grants the backup function what an export needs and no delete, sets its environment, and alarms on
ExportsFailed. `TablesafeArchiveStack` (`cdk deploy TablesafeArchive`, into the archive account) makes the same
bucket with a policy that lets only the named source accounts' backup role write under their own folder, and
denies every principal of a source account any delete or lock change.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Token, Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from tablesafe import constants
from tablesafe.config.archive import EXPORT_PREFIX, Archive, lock_days

from .config import TablesafeConfig

ARCHIVE_STACK_NAME = "TablesafeArchive"
BACKUP_ROLE_PREFIX = "tablesafe-backup-"  # the backup role's fixed name in a stack that exports: + its region
# What DynamoDB's ExportTableToPointInTime needs of the caller in S3 ("Requesting a table export in DynamoDB":
# s3:AbortMultipartUpload, s3:PutObject, s3:PutObjectAcl), and what the run itself reads and writes there.
EXPORT_WRITE_ACTIONS = ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl"]
EXPORT_READ_ACTIONS = ["s3:GetObject"]
# Nothing in a source account may remove or unlock what it archived.
SOURCE_DENIED_ACTIONS = [
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:BypassGovernanceRetention",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketVersioning",
]
KEY_USE_ACTIONS = ["kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"]
DEFAULT_ARCHIVE_LOCK_DAYS = 1  # an archive stack of a configuration without export rules (nothing to lock for)


def exports_configured(config: TablesafeConfig) -> bool:
    return any(rule.exports for plan in config.plans.values() for rule in plan.rules)


def backup_role_name(region: str) -> str:
    """The backup role's name where it exports: fixed, so an archive account's bucket policy can name it."""
    return f"{BACKUP_ROLE_PREFIX}{region}"


class ArchiveBucket(Construct):
    """The bucket exports are kept in, with its own KMS key; see the module docstring for its protections."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        archive: Archive,
        retention_days: int,
        expire_after_days: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts tablesafe's DynamoDB exports",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        retention = Duration.days(retention_days)
        lock = (
            s3.ObjectLockRetention.compliance(retention)
            if archive.object_lock_mode == "COMPLIANCE"
            else s3.ObjectLockRetention.governance(retention)
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            object_lock_enabled=True,
            object_lock_default_retention=lock,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExportsToColdStorage",
                    prefix=f"{EXPORT_PREFIX}/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass(archive.storage_class),
                            transition_after=Duration.days(archive.transition_after_days),
                        )
                    ],
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                    # Only in the archive account's stack, whose exports no source account may delete: the
                    # lifecycle prunes them instead, by age (docs/restore.md says what that changes).
                    expiration=Duration.days(expire_after_days) if expire_after_days else None,
                    noncurrent_version_expiration=Duration.days(1) if expire_after_days else None,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="The archive holds exports written by DynamoDB under Object Lock; who read or wrote them is in "
                "CloudTrail (S3 data events), and a server access log bucket would be one more bucket to protect.",
            )
        )


class ArchiveExports(Construct):
    """A regional stack's exports: the bucket (unless given), the backup function's grants and env, the alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: TablesafeConfig,
        backup: lambda_.Function,
        prune: lambda_.Function,
        lease_table_arn: str,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        archive = config.archive
        stack = Stack.of(self)
        if archive.bucket_arn is None:
            made = ArchiveBucket(self, "Archive", archive=archive, retention_days=lock_days(config.plans) or 1)
            bucket_arn, bucket_name, key_arn = made.bucket.bucket_arn, made.bucket.bucket_name, made.key.key_arn
            cfn_bucket = made.bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            nag_bucket = f"<{stack.resolve(stack.get_logical_id(cfn_bucket))}.Arn>"
        else:
            bucket_arn, bucket_name, key_arn = archive.bucket_arn, archive.bucket_name or "", archive.kms_key_arn
            nag_bucket = archive.bucket_arn
        folder = f"{EXPORT_PREFIX}/{stack.account}/{stack.region}/"
        tables = stack.format_arn(service="dynamodb", resource="table", resource_name="*")
        statements = _export_statements(config, tables, bucket_arn, folder, lease_table_arn)
        if key_arn is not None:
            statements.append(iam.PolicyStatement(sid="EncryptExports", actions=KEY_USE_ACTIONS, resources=[key_arn]))
        for statement in statements:
            backup.add_to_role_policy(statement)
        backup.add_environment(constants.ENV_ARCHIVE_BUCKET, bucket_name)
        if archive.bucket_owner:
            backup.add_environment(constants.ENV_ARCHIVE_OWNER, archive.bucket_owner)
        if key_arn is not None:
            backup.add_environment(constants.ENV_ARCHIVE_KMS_KEY, key_arn)
        assert backup.role is not None
        partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
        findings = {
            f"Resource::{nag_bucket}/{EXPORT_PREFIX}/<AWS::AccountId>/{stack.region}/*": "DynamoDB names each "
            "export's objects (AWSDynamoDB/<ExportId>/...); the role may write only under this account's and "
            "region's folder of the archive, and delete nothing.",
            f"Resource::arn:{partition}:dynamodb:{stack.region}:<AWS::AccountId>:table/*/export/*": "DynamoDB names "
            "exports (table/<table>/export/<id>); DescribeExport reads only the exports the run started or found.",
        }
        for finding, reason in findings.items():
            Validations.of(backup.role).acknowledge(Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason))
        if archive.bucket_arn is None:
            self._grant_prune(prune, bucket_arn, bucket_name, folder, nag_bucket)
            prune.add_environment(constants.ENV_ARCHIVE_PRICE, repr(archive.price_per_gb_month))
        self._alarm(topic)

    def _alarm(self, topic: sns.ITopic) -> None:
        """ExportsFailed, from the check of exports in flight (service dimension only: one alarm for every rule)."""
        alarm = cw.Alarm(
            self,
            "ExportsFailed",
            alarm_name="tablesafe-exports-failed",
            alarm_description="An export to the archive failed (or DynamoDB lost it); the backup function's ERROR "
            "line 'export failed' names the table, the export and DynamoDB's FailureCode.",
            metric=cw.Metric(
                namespace=constants.METRICS_NAMESPACE,
                metric_name=constants.M_EXPORTS_FAILED,
                dimensions_map={"service": constants.SERVICE_BACKUP},
                statistic=cw.Stats.SUM,
                period=Duration.minutes(5),
            ),
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            threshold=1,
            evaluation_periods=1,
            # Every check emits ExportsFailed, 0 included: the alarm keeps its state between runs, so one failure
            # notifies once and the next check without one sends OK (as the other count alarms, monitoring.py).
            treat_missing_data=cw.TreatMissingData.IGNORE,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(topic))

    @staticmethod
    def _grant_prune(prune: lambda_.Function, bucket_arn: str, bucket_name: str, folder: str, nag_bucket: str) -> None:
        """The prune role deletes expired exports of the bucket this stack made, only under its folder."""
        prune.add_to_role_policy(
            iam.PolicyStatement(
                sid="DeleteExpiredExports",
                actions=["s3:DeleteObject", "s3:DeleteObjectVersion"],
                resources=[f"{bucket_arn}/{folder}*"],
            )
        )
        prune.add_to_role_policy(
            iam.PolicyStatement(
                sid="ListOwnFolderVersions",
                actions=["s3:ListBucket", "s3:ListBucketVersions"],
                resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{folder}*"]}},
            )
        )
        prune.add_environment(constants.ENV_ARCHIVE_BUCKET, bucket_name)
        assert prune.role is not None
        stack = Stack.of(prune)
        finding = f"Resource::{nag_bucket}/{EXPORT_PREFIX}/<AWS::AccountId>/{stack.region}/*"
        Validations.of(prune.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[{finding}]",
                reason="DynamoDB names each export's objects; the prune role deletes only under this account's and "
                "region's folder, only slots carrying tablesafe-table.json and past their rule's retention.",
            )
        )


class TablesafeArchiveStack(Stack):
    """The archive account's bucket: source accounts' backup roles write under their folder; none of them delete."""

    def __init__(self, scope: Construct, *, config: TablesafeConfig, region: str | None = None) -> None:
        super().__init__(
            scope,
            ARCHIVE_STACK_NAME,
            stack_name=ARCHIVE_STACK_NAME,
            description="tablesafe: the archive bucket for DynamoDB exports of the source accounts",
            **({"env": {"region": region}} if region else {}),
        )
        archive = config.archive
        lock = lock_days(config.plans) or DEFAULT_ARCHIVE_LOCK_DAYS
        longest = max((r.retention_days for p in config.plans.values() for r in p.rules if r.exports), default=None)
        made = ArchiveBucket(self, "Archive", archive=archive, retention_days=lock, expire_after_days=longest)
        self.bucket, self.key = made.bucket, made.key
        accounts = list(archive.source_accounts)
        if accounts:
            self._admit(accounts, config.regions)

    def _admit(self, accounts: Sequence[str], regions: Sequence[str]) -> None:
        for account in accounts:
            roles = [f"arn:{self.partition}:iam::{account}:role/{backup_role_name(r)}" for r in regions]
            principals = [iam.ArnPrincipal(arn) for arn in roles]
            folder = f"{EXPORT_PREFIX}/{account}/"
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"ExportsOf{account}",
                    principals=principals,
                    actions=[*EXPORT_WRITE_ACTIONS, *EXPORT_READ_ACTIONS],
                    resources=[self.bucket.arn_for_objects(f"{folder}*")],
                )
            )
            self.bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"ListingOf{account}",
                    principals=principals,
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{folder}*"]}},
                )
            )
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"EncryptExportsOf{account}",
                    principals=principals,
                    actions=KEY_USE_ACTIONS,
                    resources=["*"],  # in a key policy, "*" is this key
                )
            )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="NoDeleteFromSourceAccounts",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=SOURCE_DENIED_ACTIONS,
                resources=[self.bucket.bucket_arn, self.bucket.arn_for_objects("*")],
                conditions={"StringEquals": {"aws:PrincipalAccount": list(accounts)}},
            )
        )


def _export_statements(
    config: TablesafeConfig, tables: str, bucket_arn: str, folder: str, lease_table_arn: str
) -> list[iam.PolicyStatement]:
    """The backup role's grants for exports: of the export plans' tables, under its own folder of the archive."""
    export_plans = sorted(p.name for p in config.plans.values() if any(r.exports for r in p.rules))
    statements = [
        iam.PolicyStatement(
            sid="ExportTablesOfExportPlans",
            actions=["dynamodb:ExportTableToPointInTime"],
            resources=[tables],
            conditions={"StringEquals": {f"aws:ResourceTag/{config.tag_key}": export_plans}},
        ),
        iam.PolicyStatement(
            sid="DescribeExportsAndTableSettings",
            actions=["dynamodb:DescribeExport", "dynamodb:DescribeTimeToLive"],
            resources=[tables, f"{tables}/export/*"],
        ),
        iam.PolicyStatement(
            sid="WriteExportsUnderOwnFolder",
            actions=[*EXPORT_WRITE_ACTIONS, *EXPORT_READ_ACTIONS],
            resources=[f"{bucket_arn}/{folder}*"],
        ),
        iam.PolicyStatement(
            sid="ListOwnFolder",
            actions=["s3:ListBucket"],
            resources=[bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{folder}*"]}},
        ),
        iam.PolicyStatement(sid="CheckExportsInFlight", actions=["dynamodb:Scan"], resources=[lease_table_arn]),
    ]
    # tablesafe:defaultPlan: its tables carry no plan tag at all, so the tag condition above never matches them;
    # `Null` true matches a request whose table lacks the key (IAM JSON policy reference, "Condition operator to
    # check existence of condition keys"). A table tagged `none` or with another plan stays outside both.
    if config.default_plan in export_plans:
        statements.append(
            iam.PolicyStatement(
                sid="ExportTablesOfTheDefaultPlan",
                actions=["dynamodb:ExportTableToPointInTime"],
                resources=[tables],
                conditions={"Null": {f"aws:ResourceTag/{config.tag_key}": "true"}},
            )
        )
    return statements
