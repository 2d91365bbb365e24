"""The cursor a backup continuation carries: the tables still to do and what is known about them.

A continuation that carries it neither discovers again nor lists the slot again (see docs/architecture.md, *Runs
that outgrow one invocation*): the tables are the ones its run discovered and had not backed up, and when it takes
the slot's lease straight from its predecessor nothing can have changed them since the hand-off. It travels in
the event, compressed (JSON, zlib, base85): Lambda takes at most 1 MB for an asynchronous invocation, so a cursor
larger than MAX_CURSOR_CHARS is not carried and the continuation discovers and lists as a run without one does.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from tablesafe.config.events import EventError
from tablesafe.config.settings import TABLE_NAME_PATTERN

# Lambda's limit for an asynchronous invocation's payload is 1 MB (Lambda API reference, Invoke: "For asynchronous
# invocations, the maximum payload size is 1 MB"; it was 256 KB until 2025). Read as 1,000,000 bytes, the smaller
# meaning; the rest of the event is a few hundred bytes. 900,000 characters of base85 hold about 720 KB of
# compressed names: at 22-character names with random parts, about 110,000 tables; UUID-like names about 55,000.
EVENT_PAYLOAD_LIMIT = 1_000_000
MAX_CURSOR_CHARS = 900_000
VERSION = 1


@dataclass(frozen=True)
class RunCursor:
    """What a continuation needs to go on where its predecessor stopped."""

    tables: tuple[str, ...]  # still to do, in the order to try them
    deferred: frozenset[str] = frozenset()  # of those, held up by a backup in progress or a busy table: looked up first
    done: int = 0  # the slot's backups known to exist: sizes an account-wide look at the slot
    home_tags: Mapping[str, str] = field(default_factory=dict)  # tablesafe:home-region tag, of tables that carry one
    # Of the tables, those named like a table of another deployed region (the only ones that can be a replica homed
    # elsewhere); None when the run did not learn it (one region, or the listing of another region failed).
    candidates: frozenset[str] | None = None

    @cached_property
    def encoded(self) -> str | None:
        """The cursor as the event carries it, or None when it is too large to carry."""
        body = {
            "v": VERSION,
            "t": list(self.tables),
            "d": sorted(self.deferred),
            "n": self.done,
            "h": dict(self.home_tags),
            "c": None if self.candidates is None else sorted(self.candidates),
        }
        packed = zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 9)
        text = base64.b85encode(packed).decode("ascii")
        return text if len(text) <= MAX_CURSOR_CHARS else None

    @classmethod
    def decode(cls, raw: object) -> RunCursor:
        """The cursor from its event value; EventError says what is wrong with it."""
        if not isinstance(raw, str) or not raw:
            raise EventError(f"cursor={str(raw)[:40]!r}: expected the compressed cursor a continuation carries")
        try:
            body = json.loads(zlib.decompress(base64.b85decode(raw)))
        except (ValueError, zlib.error, binascii.Error) as error:
            raise EventError(f"cursor: not a cursor a continuation wrote ({error})") from None
        if not isinstance(body, dict) or body.get("v") != VERSION:
            raise EventError(f"cursor: version {body.get('v') if isinstance(body, dict) else None!r}, expected 1")
        tables, deferred, done = body.get("t"), body.get("d"), body.get("n")
        home, candidates = body.get("h"), body.get("c")
        names = [*(tables or []), *(deferred or []), *(candidates or []), *(home or {})]
        if (
            not isinstance(tables, list)
            or not isinstance(deferred, list)
            or not isinstance(done, int)
            or done < 0
            or not isinstance(home, dict)
            or not (candidates is None or isinstance(candidates, list))
            or not all(isinstance(n, str) and TABLE_NAME_PATTERN.match(n) for n in names)
            or not all(isinstance(v, str) for v in home.values())
        ):
            raise EventError("cursor: its tables, deferred tables, count, home tags or candidates are malformed")
        return cls(
            tables=tuple(tables),
            deferred=frozenset(deferred),
            done=done,
            home_tags=home,
            candidates=None if candidates is None else frozenset(candidates),
        )
