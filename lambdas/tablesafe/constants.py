"""Names shared by the functions, the CLI and the infrastructure: environment variables, metrics, defaults."""

from typing import Final

# Environment variables the stack sets on both functions (infra imports these names).
ENV_TAG_KEY: Final = "TABLESAFE_TAG_KEY"
ENV_PLANS: Final = "TABLESAFE_PLANS"  # JSON, the validated `tablesafe:plans` context value
ENV_BACKUP_NAME_PREFIX: Final = "TABLESAFE_BACKUP_NAME_PREFIX"
ENV_DRY_RUN: Final = "TABLESAFE_DRY_RUN"  # "true" | "false"
ENV_STORAGE_PRICE: Final = "TABLESAFE_STORAGE_PRICE_PER_GB_MONTH"
ENV_GLOBAL_TABLES: Final = "TABLESAFE_GLOBAL_TABLES"  # "home-region" | "every-region"
# Optional: JSON object operation -> calls per second, overriding AWS's documented limits (tests, benchmarks).
ENV_RATE_LIMITS: Final = "TABLESAFE_RATE_LIMITS"
# Optional: seconds of invocation time kept in reserve before handing the rest of a run to a continuation.
ENV_TIME_RESERVE_SECONDS: Final = "TABLESAFE_TIME_RESERVE_SECONDS"

METRICS_NAMESPACE: Final = "Tablesafe"
SERVICE_BACKUP: Final = "tablesafe-backup"
SERVICE_PRUNE: Final = "tablesafe-prune"

DEFAULT_TAG_KEY: Final = "backup-plan"
DEFAULT_BACKUP_NAME_PREFIX: Final = "tablesafe"
DEFAULT_PRUNE_SCHEDULE: Final = "cron(30 4 * * ? *)"
DEFAULT_STORAGE_PRICE_PER_GB_MONTH: Final = 0.10
DEFAULT_GLOBAL_TABLES: Final = "home-region"
DEFAULT_PLANS: Final = {
    "daily": [
        {"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3},
    ]
}

# AWS's documented per-account control-plane limits, calls per second
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-api and the
# Resource Groups Tagging API quotas).
DEFAULT_RATE_LIMITS: Final = {
    "CreateBackup": 50.0,
    "DeleteBackup": 10.0,
    "ListBackups": 5.0,
    "ListTagsOfResource": 10.0,
    "GetResources": 15.0,
    "DescribeTable": 20.0,
    "DescribeBackup": 10.0,
}

# Scheduler input keys (the JSON each schedule sends, also accepted from `aws lambda invoke`).
JOB_BACKUP: Final = "backup"
JOB_PRUNE: Final = "prune"
SCHEDULED_TIME_PLACEHOLDER: Final = "<aws.scheduler.scheduled-time>"
