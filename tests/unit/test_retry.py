"""The one retry policy: what it retries, what it leaves to botocore, how long it can wait."""

import random

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from tablesafe.aws.errors import (
    AmbiguousResult,
    BackupInUse,
    GatewayError,
    Throttled,
    botocore_resends,
    call,
)
from tablesafe.aws.retry import RetryPolicy


class Rng(random.Random):
    """Draws the top of every range, so the pauses are the policy's ceilings."""

    def uniform(self, a: float, b: float) -> float:
        return b


def policy(attempts=5, base=1.0, cap=4.0, slept=None, rng=None):
    return RetryPolicy(attempts=attempts, base=base, cap=cap, sleep=(slept if slept is not None else []).append,
                       rng=rng or Rng())  # fmt: skip


def failing(*errors):
    """A send that raises each error in turn, then returns "done"; records how often it was sent."""
    sent = []

    def send():
        sent.append(1)
        if len(sent) <= len(errors):
            raise errors[len(sent) - 1]
        return "done"

    return send, sent


def in_use():
    return BackupInUse("CreateBackup", "BackupInUseException", "a backup is being created")


def test_retries_what_its_predicate_accepts_until_it_succeeds():
    slept = []
    send, sent = failing(in_use(), in_use())
    assert policy(slept=slept).call(send, retry_if=lambda e: isinstance(e, BackupInUse)) == "done"
    assert len(sent) == 3
    assert slept == [1.0, 2.0]  # before the second and third sends: base, then doubled


def test_an_error_its_predicate_refuses_is_raised_at_once():
    slept = []
    send, sent = failing(GatewayError("DeleteBackup", "AccessDeniedException", "no"))
    with pytest.raises(GatewayError, match="AccessDenied"):
        policy(slept=slept).call(send, retry_if=lambda e: isinstance(e, BackupInUse))
    assert (len(sent), slept) == (1, [])


def test_never_retries_what_botocore_already_retried():
    # A throttle on a client with botocore's retries on: botocore sent it up to nine times; a tenfold loop of ours
    # would make it ninety.
    for error in (
        Throttled("ListBackups", "ThrottlingException", "slow down", botocore_retried=True),
        AmbiguousResult("ListBackups", "InternalServerError", "oops", botocore_retried=True),
    ):
        send, sent = failing(error)
        with pytest.raises(type(error)):
            policy().call(send, retry_if=lambda e: True)
        assert len(sent) == 1
        assert not RetryPolicy.may_retry(error)


def test_a_send_once_calls_throttle_is_retried():
    send, sent = failing(Throttled("CreateBackup", "LimitExceededException", "50 at once", botocore_retried=False))
    assert policy().call(send, retry_if=lambda e: isinstance(e, Throttled)) == "done"
    assert len(sent) == 2


def test_gives_up_after_its_attempts_with_the_last_error():
    slept = []
    errors = [in_use() for _ in range(5)]
    send, sent = failing(*errors)
    with pytest.raises(BackupInUse) as raised:
        policy(attempts=5, slept=slept).call(send, retry_if=lambda e: True)
    assert raised.value is errors[-1]
    assert len(sent) == 5
    assert slept == [1.0, 2.0, 4.0, 4.0]  # capped at 4 s
    assert sum(slept) == policy(attempts=5).longest_wait == 11.0


def test_pauses_are_full_jitter_below_the_capped_exponential():
    p = RetryPolicy(attempts=20, base=0.4, cap=10.0, sleep=lambda s: None, rng=random.Random(7))
    assert p.delay(0) == 0.0 and p.ceiling(0) == 0.0
    assert [p.ceiling(n) for n in range(1, 8)] == [0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0]
    drawn = [p.delay(n) for n in range(1, 20) for _ in range(50)]
    assert all(0.0 <= d <= 10.0 for d in drawn)
    assert min(drawn) < 0.1 and max(drawn) > 9.0  # spread over the whole range, not clustered at the ceiling
    assert p.ceiling(10_000) == 10.0  # no overflow for a huge attempt number


def test_tries_pauses_before_every_send_but_the_first():
    slept = []
    assert list(policy(attempts=4, slept=slept).tries()) == [0, 1, 2, 3]
    assert slept == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(("attempts", "base", "cap"), [(0, 1.0, 2.0), (3, 0.0, 2.0), (3, 2.0, 1.0)])
def test_nonsense_settings_are_refused(attempts, base, cap):
    with pytest.raises(ValueError, match=r"attempts|base"):
        RetryPolicy(attempts=attempts, base=base, cap=cap)


# -- which errors botocore already retried: read from the client's own retry configuration ------------------------


def client(retries):
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    return session.client("dynamodb", config=Config(retries=retries) if retries is not None else None)


def throttle():
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "ListBackups")


def raise_(error):
    raise error


@pytest.mark.parametrize(
    ("retries", "resends"),
    [
        ({"mode": "standard", "total_max_attempts": 9}, True),
        ({"mode": "standard", "total_max_attempts": 1}, False),
        ({"mode": "standard", "max_attempts": 0}, False),
        (None, True),  # botocore's default (legacy) mode resends
    ],
)
def test_an_error_records_whether_its_client_resent_it(retries, resends):
    c = client(retries)
    assert botocore_resends(c) is resends
    with pytest.raises(Throttled) as throttled:
        call("ListBackups", c, lambda: raise_(throttle()))
    assert throttled.value.botocore_retried is resends
    with pytest.raises(AmbiguousResult) as lost:
        call("ListBackups", c, lambda: raise_(EndpointConnectionError(endpoint_url="http://x")))
    assert lost.value.botocore_retried is resends


def test_an_error_botocore_never_retries_is_ours_to_retry_on_any_client():
    refused = ClientError({"Error": {"Code": "BackupInUseException", "Message": "busy"}}, "CreateBackup")
    with pytest.raises(BackupInUse) as raised:
        call("CreateBackup", client({"mode": "standard", "total_max_attempts": 9}), lambda: raise_(refused))
    assert not raised.value.botocore_retried


def test_an_unknown_client_is_taken_to_resend():
    assert botocore_resends(object())
