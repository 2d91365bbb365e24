"""Names shared by the functions, the CLI and the infrastructure: environment variables, metrics, defaults."""

from typing import Final

# Environment variables the stack sets on both functions (infra imports these names).
ENV_TAG_KEY: Final = "TABLESAFE_TAG_KEY"
ENV_PLANS: Final = "TABLESAFE_PLANS"  # JSON, the validated `tablesafe:plans` context value
ENV_BACKUP_NAME_PREFIX: Final = "TABLESAFE_BACKUP_NAME_PREFIX"
ENV_DRY_RUN: Final = "TABLESAFE_DRY_RUN"  # "true" | "false"
ENV_STORAGE_PRICE: Final = "TABLESAFE_STORAGE_PRICE_PER_GB_MONTH"
ENV_GLOBAL_TABLES: Final = "TABLESAFE_GLOBAL_TABLES"  # "home-region" | "every-region"
# Optional: the plan of every table without the plan tag (`tablesafe:defaultPlan`); set only when configured.
ENV_DEFAULT_PLAN: Final = "TABLESAFE_DEFAULT_PLAN"
# Comma-separated: the regions the app deploys to (`tablesafe:regions`), the only ones a global table's home can be.
# Optional: without it (older deployments) every region holding a replica counts.
ENV_REGIONS: Final = "TABLESAFE_REGIONS"
# Optional: JSON object operation -> calls per second, overriding AWS's documented limits (tests, benchmarks).
ENV_RATE_LIMITS: Final = "TABLESAFE_RATE_LIMITS"
# Optional: seconds of invocation time kept in reserve before handing the rest of a run to a continuation.
ENV_TIME_RESERVE_SECONDS: Final = "TABLESAFE_TIME_RESERVE_SECONDS"
# The backup function's slot-lease table (lease.py); the stack sets it on the backup function only.
ENV_LEASE_TABLE: Final = "TABLESAFE_LEASE_TABLE"
# The archive bucket of export rules (`tablesafe:archive`); set only when a plan has an export rule.
ENV_ARCHIVE_BUCKET: Final = "TABLESAFE_ARCHIVE_BUCKET"
ENV_ARCHIVE_OWNER: Final = "TABLESAFE_ARCHIVE_OWNER"  # optional: the bucket's account (S3BucketOwner)
# The archive's USD per GB-month (`tablesafe:archive` pricePerGbMonth), for EstimatedArchiveMonthlyCost.
ENV_ARCHIVE_PRICE: Final = "TABLESAFE_ARCHIVE_PRICE_PER_GB_MONTH"
ENV_ARCHIVE_KMS_KEY: Final = "TABLESAFE_ARCHIVE_KMS_KEY"  # optional: the KMS key ARN exports are encrypted with

# The role every member account of tablesafe:organization gets for the hub (infra/member.py), which
# `tablesafe status --accounts/--organization` assumes by default.
READ_ONLY_ROLE_NAME: Final = "TablesafeReadOnly"

METRICS_NAMESPACE: Final = "Tablesafe"
SERVICE_BACKUP: Final = "tablesafe-backup"
SERVICE_PRUNE: Final = "tablesafe-prune"

DEFAULT_TAG_KEY: Final = "backup-plan"
DEFAULT_BACKUP_NAME_PREFIX: Final = "tablesafe"
DEFAULT_PRUNE_SCHEDULE: Final = "cron(30 4 * * ? *)"
DEFAULT_STORAGE_PRICE_PER_GB_MONTH: Final = 0.10
DEFAULT_GLOBAL_TABLES: Final = "home-region"
DEFAULT_DRILL_SCHEDULE: Final = "rate(15 minutes)"
DEFAULT_PLANS: Final = {
    "daily": [
        {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3},
    ]
}

# AWS's documented per-account limits, calls per second, from each operation's API reference ("You can call
# CreateBackup at a maximum rate of 50 times per second", DeleteBackup 10, ListBackups 5, ListTagsOfResource 10,
# DescribeContinuousBackups 10) and the Resource Groups Tagging API quotas (GetResources 15). Other calls are paced
# only by botocore's retries.
DEFAULT_RATE_LIMITS: Final = {
    "CreateBackup": 50.0,
    "DeleteBackup": 10.0,
    "ListBackups": 5.0,
    "ListTagsOfResource": 10.0,
    "GetResources": 15.0,
    "DescribeContinuousBackups": 10.0,
}

# Scheduler input keys (the JSON each schedule sends, also accepted from `aws lambda invoke`).
JOB_BACKUP: Final = "backup"
JOB_PRUNE: Final = "prune"
SCHEDULED_TIME_PLACEHOLDER: Final = "<aws.scheduler.scheduled-time>"

# Metrics (namespace METRICS_NAMESPACE). Backup metrics carry the dimensions Plan and Rule.
# Powertools adds "service" (POWERTOOLS_SERVICE_NAME) to every metric: alarms and widgets must name it too.
DIM_SERVICE: Final = "service"
DIM_PLAN: Final = "Plan"
DIM_RULE: Final = "Rule"
DIM_DRY_RUN: Final = "DryRun"  # prune metrics: "true" in a dry run, "false" otherwise
M_BACKUPS_CREATED: Final = "BackupsCreated"
M_BACKUPS_ALREADY_PRESENT: Final = "BackupsAlreadyPresent"  # the slot's backup existed (retry, re-run)
M_TABLES_SKIPPED: Final = "TablesSkipped"  # deleted after discovery, table being created/deleted, replica
M_TABLES_FAILED: Final = "TablesFailed"
M_UNKNOWN_PLAN_TABLES: Final = "UnknownPlanTables"  # tag value names no configured plan (Plan = invoked plan)
M_BACKUP_RUNS_SUCCEEDED: Final = "BackupRunsSucceeded"  # 1 per run that finished with no failed table
M_BACKUP_RUN_DURATION: Final = "BackupRunDuration"  # seconds
M_REPLICAS_SKIPPED: Final = "GlobalReplicasSkipped"
M_PITR_DRIFT: Final = "PitrDriftCorrected"
# A delivery of a slot another run was working on: it waited for that run, then verified the slot (never a failure).
M_DUPLICATE_DELIVERIES: Final = "DuplicateDeliveries"
# The slot lease could not be taken, handed on or released: the run worked without it (also without Plan/Rule).
M_SLOT_LEASE_UNAVAILABLE: Final = "SlotLeaseUnavailable"
# Prune metrics carry DryRun, and Plan where they are per plan.
M_BACKUPS_DELETED: Final = "BackupsDeleted"
M_BACKUPS_DELETE_FAILED: Final = "BackupsDeleteFailed"
M_BACKUPS_IN_USE_SKIPPED: Final = "BackupsInUseSkipped"
M_ORPHANED_BACKUPS: Final = "OrphanedBackups"
M_PRUNE_TABLES_FAILED: Final = "PruneTablesFailed"
M_PRUNE_RUN_DURATION: Final = "PruneRunDuration"  # seconds
M_EXPIRED_BACKLOG: Final = "ExpiredBacklog"  # at a run's end: backups the rules delete, still stored (not a failure)
M_STORED_BACKUPS: Final = "StoredBackups"  # per Plan, of what the run listed
M_STORED_BYTES: Final = "StoredBytes"
M_ESTIMATED_MONTHLY_COST: Final = "EstimatedMonthlyCost"  # USD
# Export rules (Plan, Rule dimensions): started or found per slot; and, from the check of exports in flight (no
# dimension but service, so one alarm covers every rule), how they ended.
M_EXPORTS_STARTED: Final = "ExportsStarted"
M_EXPORTS_ALREADY_PRESENT: Final = "ExportsAlreadyPresent"
M_EXPORTS_COMPLETED: Final = "ExportsCompleted"
M_EXPORTS_FAILED: Final = "ExportsFailed"
M_EXPORTED_BYTES: Final = "ExportedBytes"
M_EXPORTS_IN_PROGRESS: Final = "ExportsInProgress"
# The prune of the archive (service dimension only).
M_EXPORTS_DELETED: Final = "ExportsDeleted"
M_EXPORTS_DELETE_FAILED: Final = "ExportsDeleteFailed"  # object versions S3 refused to delete
M_ARCHIVED_BYTES: Final = "ArchivedBytes"
M_ORPHANED_EXPORTS: Final = "OrphanedExports"
M_ESTIMATED_ARCHIVE_MONTHLY_COST: Final = "EstimatedArchiveMonthlyCost"  # USD: ArchivedBytes x pricePerGbMonth

# Restore drills (drill/). Metrics carry Plan (and service); RestoreSeconds is one value per drill that went ACTIVE.
JOB_DRILL: Final = "drill"
SERVICE_DRILL: Final = "tablesafe-drill"
M_DRILLS_PASSED: Final = "DrillsPassed"
M_DRILLS_FAILED: Final = "DrillsFailed"
M_RESTORE_SECONDS: Final = "RestoreSeconds"
# Per plan, each invocation: tables whose last passing drill is older than 1.5 x everyDays (or that never passed).
M_DRILLS_OVERDUE: Final = "DrillsOverdue"
# The drill function's optional read budget for the count scan, read request units per second (default below).
ENV_DRILL_READ_UNITS: Final = "TABLESAFE_DRILL_READ_UNITS"
DEFAULT_DRILL_READ_UNITS: Final = 4000.0

# Handlers (module paths inside the code asset).
BACKUP_HANDLER: Final = "tablesafe.runtime.backup_handler.lambda_handler"
PRUNE_HANDLER: Final = "tablesafe.runtime.prune_handler.lambda_handler"
DRILL_HANDLER: Final = "tablesafe.runtime.drill_handler.lambda_handler"
