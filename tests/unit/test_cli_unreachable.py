"""The CLI's clients give up on an endpoint that cannot be reached after two sends, and leave the rest to botocore."""

from __future__ import annotations

import pytest
from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from tablesafe_cli.context import CONNECT_ATTEMPTS, give_up_unreachable

URL = "https://dynamodb.eu-west-1.amazonaws.com/"


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url=URL),
        ConnectTimeoutError(endpoint_url=URL),
        ReadTimeoutError(endpoint_url=URL),
    ],
)
def test_a_send_that_could_not_connect_or_got_no_answer_is_given_up_after_two(error):
    assert give_up_unreachable(attempts=1, caught_exception=error) is None  # botocore's retry mode may send again
    with pytest.raises(type(error), match=r"dynamodb\.eu-west-1\.amazonaws\.com"):
        give_up_unreachable(attempts=CONNECT_ATTEMPTS, caught_exception=error)


@pytest.mark.parametrize("error", [None, ConnectionClosedError(endpoint_url=URL)])
def test_answers_and_other_errors_are_left_to_botocores_retry_mode(error):
    assert give_up_unreachable(attempts=CONNECT_ATTEMPTS + 5, caught_exception=error) is None
