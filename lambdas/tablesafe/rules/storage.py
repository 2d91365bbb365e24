"""What a stored backup is and how its storage is priced: shared by the prune's storage metrics and the CLI."""

from __future__ import annotations

BYTES_PER_GB = 1_000_000_000  # AWS prices backup storage per GB-month (decimal gigabytes); see docs/cost.md
STORED_STATUSES = frozenset({"AVAILABLE", "CREATING"})  # a backup in these states is stored (and billed)
