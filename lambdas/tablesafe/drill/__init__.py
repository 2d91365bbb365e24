"""Restore drills: restore a plan's latest backup, verify it, measure the time, clean up (docs/restore.md#drills)."""
