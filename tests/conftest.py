"""The one place that sets up the fake cloud.

- Every test: fake credentials, us-east-1, no profile/config files, no endpoint override, and no way out to the
  network (a lookup of any non-loopback host fails), so nothing can reach real AWS by accident.
- `standin`: the embedded AWS stand-in (tests/standin), reset for the test, with AWS_ENDPOINT_URL pointing at it.
- `moto_aws`: plain in-process moto (mock_aws) for unit tests that want a quick fake.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from tools.standin import StandIn

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
