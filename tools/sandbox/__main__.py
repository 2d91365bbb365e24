"""`make sandbox`: synthesize the app, serve it on the stand-in at 127.0.0.1:$TABLESAFE_SANDBOX_PORT (default 4566)
until Ctrl-C, and print the lines that point the AWS CLI, boto3 and `tablesafe` at it."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

from tools.lambda_runner import synthesize
from tools.sandbox.sandbox import LAMBDA_RETRY_DELAYS, Sandbox
from tools.standin.server import StandIn

DEFAULT_PORT = 4566  # the port LocalStack made usual for local AWS endpoints


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.sandbox", description=__doc__)
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("TABLESAFE_SANDBOX_PORT") or DEFAULT_PORT), help="0: any free"
    )
    parser.add_argument("--assembly", type=Path, help="serve this synthesized cloud assembly instead of synthesizing")
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a context value over cdk.json's, as `cdk synth -c` takes it (repeatable)",
    )
    parser.add_argument(
        "--retry-delay", type=float, help="seconds before each retry of a failed Event invocation (default: Lambda's)"
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds each invocation may run instead of the template's Timeout"
    )
    return parser.parse_args(argv)


def _context(pairs: list[str]) -> dict[str, object]:
    overrides: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            sys.exit(f"sandbox: -c {pair!r}: expected KEY=VALUE")
        overrides[key] = value  # text, as the CDK CLI passes -c values; app.py decodes JSON text
    return overrides


def main(argv: list[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM; exit 0 after a clean stop."""
    args = _arguments(argv)
    if not 0 <= args.port <= 65535:
        sys.exit(f"sandbox: --port {args.port}: expected 0-65535")
    stop = threading.Event()
    # Both set explicitly: a shell starting the sandbox in the background would otherwise leave SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="tablesafe-sandbox-") as scratch:
        outdir = args.assembly
        if outdir is None:
            print("sandbox: synthesizing app.py (about 30 s) ...", flush=True)
            try:
                synthesize(Path(scratch), _context(args.context))
            except RuntimeError as error:
                sys.exit(f"sandbox: {error}")
            outdir = Path(scratch)
        try:
            standin = StandIn(port=args.port).start()
        except OSError as error:
            sys.exit(f"sandbox: cannot listen on 127.0.0.1:{args.port} ({error.strerror}); set TABLESAFE_SANDBOX_PORT")
        delays = LAMBDA_RETRY_DELAYS if args.retry_delay is None else (args.retry_delay,)
        sandbox = Sandbox(outdir, standin, out=sys.stdout, retry_delays=delays, timeout=args.timeout)
        functions = json.dumps(sandbox.functions)
        print(f"sandbox: AWS stand-in on {standin.endpoint_url}; Lambda functions {functions}", flush=True)
        print("sandbox: paste into another shell (then run the README's commands), Ctrl-C here to stop:", flush=True)
        for line in sandbox.export_lines():
            print(f"  {line}", flush=True)
        try:
            stop.wait()
        finally:
            sandbox.close()
            standin.stop()
    print("sandbox: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
