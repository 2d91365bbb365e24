"""The export use case: one export per table per slot for `"target": "export"` rules, and the check of exports in
flight. Written against aws/exports.py's gateway; imports config, rules, aws and observability, never another
use case."""
