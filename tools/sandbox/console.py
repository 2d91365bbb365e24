"""What the sandbox prints per invocation: one headline, then the function's log lines, one short line each."""

from __future__ import annotations

import json
import time

from tools.lambda_runner import Invocation

# Powertools Logger's standard keys: the same in every line, so left out of the sandbox's short form.
_STANDARD_KEYS = frozenset(
    {
        "level",
        "message",
        "location",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "sampling_rate",
    }
)


def describe(invocation: Invocation, region: str, label: str, seconds: float) -> str:
    """`12:00:01 tablesafe-backup (us-east-1, Event): ok in 2.1 s` and the log, indented."""
    if invocation.ok:
        verdict = "ok"
    else:
        error = invocation.error or {}
        verdict = f"FAILED {error.get('errorType')}: {error.get('errorMessage')}"
    lines = [f"{time.strftime('%H:%M:%S')} {invocation.function} ({region}, {label}): {verdict} in {seconds:.1f} s"]
    for raw in invocation.stdout.splitlines():
        lines.extend(_log_line(raw))
    lines.extend(f"    {raw}" for raw in invocation.stderr.splitlines() if raw.strip())
    return "\n".join(lines)


def _log_line(raw: str) -> list[str]:
    try:
        line = json.loads(raw)
    except ValueError:
        return [f"    {raw}"] if raw.strip() else []
    if not isinstance(line, dict):
        return [f"    {raw}"]
    if "_aws" in line and "message" not in line:  # an EMF metrics document: CloudWatch's, not a log line
        return []
    fields = " ".join(
        f"{key}={_short(value)}" for key, value in line.items() if key not in _STANDARD_KEYS and key != "_aws"
    )
    return [f"    {line.get('level', '')} {line.get('message', '')} {fields}".rstrip()]


def _short(value: object) -> str:
    return value if isinstance(value, str) and " " not in value else json.dumps(value, default=str)
