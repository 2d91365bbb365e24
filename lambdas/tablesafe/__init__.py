"""tablesafe: scheduled on-demand backups of tagged DynamoDB tables, with safe pruning."""

__version__ = "0.1.0"
