"""The application as deployed, on the stand-in: every function of every synthesized stack, invocable by name.

    with Sandbox(Path("cdk.out"), StandIn(port=4566).start(), out=sys.stdout) as sandbox:
        print(*sandbox.export_lines(), sep="\\n")

Synchronous invocations run in the request's thread; Event invocations (the functions' own continuations included,
which go to this endpoint through AWS_ENDPOINT_URL_LAMBDA) run one at a time from a queue, and one that raised is
retried as the function's EventInvokeConfig says (MaximumRetryAttempts, default 2), after Lambda's delays.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tools.lambda_runner import CloudAssembly, Invocation, LambdaRunner
from tools.sandbox.console import describe
from tools.sandbox.lambda_api import LambdaApi, Outcome, Request
from tools.standin.server import FAKE_CREDENTIALS, StandIn

# Lambda, "Error handling and automatic retries": "waits one minute before the first retry, two minutes before the
# second" (asynchronous invocation). The sandbox waits as long by default; tests pass shorter delays.
LAMBDA_RETRY_DELAYS = (60.0, 120.0)
LAMBDA_DEFAULT_RETRIES = 2
_DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class _Queued:
    request: Request
    attempt: int  # 0 for the first


def stack_regions(outdir: Path) -> dict[str, str]:
    """{stack name: region} of the cloud assembly's stacks (the region of `aws://account/region`)."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    regions = {}
    for name, artifact in manifest["artifacts"].items():
        if artifact.get("type") == "aws:cloudformation:stack":
            region = str(artifact.get("environment", "")).rsplit("/", 1)[-1]
            regions[name] = _DEFAULT_REGION if region in ("", "unknown-region") else region
    return regions


def retry_attempts(assembly: CloudAssembly) -> dict[str, int]:
    """{function name: MaximumRetryAttempts} from the template's EventInvokeConfigs."""
    by_id = {spec.logical_id: spec.name for spec in assembly.functions.values()}
    retries = dict.fromkeys(by_id.values(), LAMBDA_DEFAULT_RETRIES)
    for resource in assembly.template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig":
            props = resource["Properties"]
            target = props["FunctionName"].get("Ref") if isinstance(props["FunctionName"], dict) else None
            if target in by_id:
                retries[by_id[target]] = int(props.get("MaximumRetryAttempts", LAMBDA_DEFAULT_RETRIES))
    return retries


class Sandbox:
    """Serves Lambda's Invoke API on a running stand-in for the functions of the cloud assembly in `outdir`."""

    def __init__(
        self,
        outdir: Path,
        standin: StandIn,
        *,
        out: TextIO | None = None,
        retry_delays: tuple[float, ...] = LAMBDA_RETRY_DELAYS,
        timeout: float | None = None,
    ) -> None:
        self.standin = standin
        self._timeout = timeout  # seconds instead of each function's Timeout (to watch continuations happen)
        self._out = out
        self._retry_delays = retry_delays
        self._runners: dict[str, LambdaRunner] = {}
        self._retries: dict[tuple[str, str], int] = {}
        for stack, region in stack_regions(Path(outdir)).items():
            assembly = CloudAssembly(Path(outdir), stack)
            self._runners[region] = LambdaRunner(assembly, standin.env(region), lambda_endpoint=standin.endpoint_url)
            for name, attempts in retry_attempts(assembly).items():
                self._retries[(region, name)] = attempts
        self._api = LambdaApi(self._known, self._run, self._enqueue, standin.account_id)
        self._queue: list[tuple[float, int, _Queued]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._busy = 0
        self._stopping = False
        self._worker = threading.Thread(target=self._work, name="sandbox-lambda-events", daemon=True)
        self._print_lock = threading.Lock()
        standin.app.routes.append(self._api)
        self._worker.start()

    @property
    def functions(self) -> dict[str, list[str]]:
        """{region: function names}."""
        return {region: sorted(r.assembly.functions) for region, r in self._runners.items()}

    @property
    def invocations(self) -> list[Invocation]:
        """Every invocation so far, synchronous and Event, of every region."""
        return [i for runner in self._runners.values() for i in runner.invocations]

    def export_lines(self) -> list[str]:
        """The shell lines that point the AWS CLI, boto3 and `tablesafe` at the sandbox."""
        region = next(iter(self._runners), _DEFAULT_REGION)
        return [
            f"export AWS_ENDPOINT_URL={self.standin.endpoint_url}"
            f" AWS_ACCESS_KEY_ID={FAKE_CREDENTIALS['AWS_ACCESS_KEY_ID']}"
            f" AWS_SECRET_ACCESS_KEY={FAKE_CREDENTIALS['AWS_SECRET_ACCESS_KEY']}"
            f" AWS_DEFAULT_REGION={region}",
            "unset AWS_PROFILE AWS_SESSION_TOKEN",
        ]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no Event invocation is queued or running; False if `timeout` seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.1))
        return True

    def close(self) -> None:
        """Stop taking invocations, drop what is queued, close the runners; the stand-in keeps running."""
        if self._api in self.standin.app.routes:
            self.standin.app.routes.remove(self._api)
        with self._wake:
            self._stopping = True
            dropped = len(self._queue)
            self._queue.clear()
            self._wake.notify_all()
        self._worker.join(timeout=960)
        for runner in self._runners.values():
            runner.close()
        if dropped:
            self._say(f"{dropped} queued Event invocation(s) not run (the sandbox stopped)")

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the Invoke API's callbacks ----------------------------------------------------------------------------------

    def _known(self, region: str, name: str) -> bool:
        runner = self._runners.get(region)
        return runner is not None and name in runner.assembly.functions

    def _run(self, request: Request) -> Outcome:
        invocation = self._invoke(request, "RequestResponse")
        error = None
        if invocation.error is not None:
            error = {
                "errorType": invocation.error.get("errorType"),
                "errorMessage": invocation.error.get("errorMessage"),
                "stackTrace": str(invocation.error.get("stackTrace", "")).splitlines(),
            }
        return Outcome(invocation.result, error, invocation.stdout + invocation.stderr)

    def _enqueue(self, request: Request, attempt: int = 0, delay: float = 0.0) -> None:
        with self._wake:
            if self._stopping:
                return
            item = _Queued(request, attempt)
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), item))
            self._wake.notify_all()

    # -- the Event queue ---------------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._wake.wait(self._queue[0][0] - time.monotonic() if self._queue else None)
                if self._stopping:
                    return
                _, _, item = heapq.heappop(self._queue)
                self._busy += 1
            try:
                self._run_event(item)
            finally:
                with self._wake:
                    self._busy -= 1
                    self._wake.notify_all()

    def _run_event(self, item: _Queued) -> None:
        request = item.request
        label = "Event" if item.attempt == 0 else f"Event, retry {item.attempt}"
        invocation = self._invoke(request, label)
        if invocation.ok:
            return
        allowed = self._retries.get((request.region, request.function), LAMBDA_DEFAULT_RETRIES)
        if item.attempt < allowed:
            delay = self._retry_delays[min(item.attempt, len(self._retry_delays) - 1)] if self._retry_delays else 0.0
            self._say(f"{request.function}: retry {item.attempt + 1} of {allowed} in {delay:g} s")
            self._enqueue(request, item.attempt + 1, delay)
        else:
            self._say(
                f"{request.function}: failed after {allowed} retries; in AWS the event would go to the function's "
                "on-failure destination (the dead-letter queue)"
            )

    def _invoke(self, request: Request, label: str) -> Invocation:
        runner = self._runners[request.region]
        started = time.monotonic()
        invocation = runner.invoke(request.function, request.event, timeout=self._timeout)  # any JSON, as Lambda
        self._say(describe(invocation, request.region, label, time.monotonic() - started))
        return invocation

    def _say(self, text: str) -> None:
        if self._out is None:
            return
        with self._print_lock:
            print(text, file=self._out, flush=True)
