"""The continuation gateway: one asynchronous Invoke of the function itself, on the client the factory builds."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from tablesafe.aws.clients import continuation_client
from tablesafe.aws.continuation import LambdaContinuation
from tablesafe.aws.errors import GatewayError, botocore_resends
from tablesafe.runtime.handoff import hand_on

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:tablesafe-backup"
EVENT = {"job": "backup", "plan": "daily", "continuation": 1, "cursor": {"tables": ["orders", "carts"]}}


@pytest.fixture
def client():
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    return continuation_client(session)


def test_the_continuation_is_queued_as_an_event_of_the_function_itself_carrying_the_whole_cursor(client):
    expected = {"FunctionName": FUNCTION, "InvocationType": "Event", "Payload": json.dumps(EVENT).encode()}
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 202}, expected)

        assert hand_on(LambdaContinuation(FUNCTION, client), EVENT, continuation=1) is None

        stub.assert_no_pending_responses()


def test_a_refused_continuation_is_a_named_reason_for_the_work_left_never_a_silent_drop(client):
    with Stubber(client) as stub:
        stub.add_client_error("invoke", "AccessDeniedException", "not allowed to invoke", http_status_code=403)
        with pytest.raises(GatewayError, match="Invoke failed: AccessDeniedException"):
            LambdaContinuation(FUNCTION, client)(EVENT)

        stub.add_client_error("invoke", "AccessDeniedException", "not allowed to invoke", http_status_code=403)
        refused = hand_on(LambdaContinuation(FUNCTION, client), EVENT, continuation=1)

    assert refused is not None and refused.invoke_failed
    assert "AccessDeniedException" in refused.detail()


def test_the_continuation_client_resends_a_lost_answer_as_lambda_may_deliver_an_event_twice_anyway(client):
    assert botocore_resends(client)
    assert client.meta.region_name == "us-east-1"
