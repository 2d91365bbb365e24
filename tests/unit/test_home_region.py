"""Which region backs up a global table: a deployed region holding a replica, exactly one, agreed on without talking."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from tablesafe.rules.home_region import backup_region, decided_without_replicas, ignored_home_tag

POOL = ["ap-south-1", "eu-west-1", "us-east-1", "us-west-2"]
regions = st.sets(st.sampled_from(POOL))
home_tags = st.none() | st.sampled_from(POOL)


def test_a_deployment_to_one_region_backs_up_its_replica_even_if_another_replica_region_sorts_first():
    assert backup_region("us-east-1", ["eu-west-1"], None, ["us-east-1"]) == "us-east-1"


def test_without_the_deployed_regions_every_replica_region_is_a_candidate_as_before():
    assert backup_region("us-east-1", ["eu-west-1"], None) == "eu-west-1"
    assert backup_region("us-east-1", ["eu-west-1"], "ap-south-1") == "eu-west-1"
    assert backup_region("us-east-1", [], None) == "us-east-1"


def test_the_first_deployed_replica_region_is_home_and_an_undeployed_one_sorting_first_is_passed_over():
    replicas = {"ap-south-1", "eu-west-1", "us-east-1"}
    deployed = ["us-east-1", "eu-west-1"]

    for own in ("eu-west-1", "us-east-1"):
        assert backup_region(own, replicas - {own}, None, deployed) == "eu-west-1"


def test_a_home_tag_is_followed_only_to_a_deployed_region_holding_a_replica():
    deployed = ["us-east-1", "eu-west-1", "us-west-2"]
    replicas = ["eu-west-1", "ap-south-1"]

    assert backup_region("us-east-1", replicas, "us-east-1", deployed) == "us-east-1"  # own region
    assert backup_region("eu-west-1", ["us-east-1"], "us-east-1", deployed) == "us-east-1"  # deployed replica region
    assert backup_region("us-east-1", replicas, "ap-south-1", deployed) == "eu-west-1"  # replica, not deployed
    assert backup_region("us-east-1", replicas, "us-west-2", deployed) == "eu-west-1"  # deployed, no replica


@given(holding=regions, deployed=regions, home_tag=home_tags)
def test_exactly_one_deployed_region_holding_a_replica_backs_the_table_up(holding, deployed, home_tag):
    # Each deployed region holding a replica decides alone, from the same facts: exactly one of them says "me".
    deciders = sorted(holding & deployed)
    volunteers = [r for r in deciders if backup_region(r, holding - {r}, home_tag, sorted(deployed)) == r]

    assert len(volunteers) == (1 if deciders else 0)


@given(own=st.sampled_from(POOL), replicas=regions, deployed=regions, home_tag=home_tags)
def test_when_the_replicas_need_not_be_asked_for_the_own_region_is_home_whatever_they_are(
    own, replicas, deployed, home_tag
):
    # assume, not if: hypothesis fails the test when too few examples get past this line.
    assume(decided_without_replicas(own, home_tag, sorted(deployed | {own})))
    assert backup_region(own, replicas - {own}, home_tag, sorted(deployed | {own})) == own


def test_the_replicas_are_not_asked_for_in_a_deployment_to_one_region_or_by_the_first_deployed_region():
    assert decided_without_replicas("us-east-1", None, ["us-east-1"])
    assert decided_without_replicas("us-east-1", "eu-west-1", ["us-east-1"])  # the tag cannot be followed anyway
    assert decided_without_replicas("eu-west-1", None, ["us-east-1", "eu-west-1"])
    assert decided_without_replicas("us-east-1", "us-east-1", None)  # tagged home here


def test_the_replicas_are_asked_for_when_another_deployed_region_could_be_home():
    assert not decided_without_replicas("us-east-1", None, ["us-east-1", "eu-west-1"])
    assert not decided_without_replicas("eu-west-1", "us-east-1", ["us-east-1", "eu-west-1"])
    assert not decided_without_replicas("us-east-1", None, None)  # deployed regions not known


def test_why_a_home_tag_cannot_be_followed():
    deployed = ["us-east-1", "eu-west-1"]

    assert ignored_home_tag("us-east-1", None, "ap-south-1", deployed) == "tablesafe is not deployed in that region"
    assert ignored_home_tag("us-east-1", ["ap-south-1"], "ap-south-1", deployed) == (
        "tablesafe is not deployed in that region"
    )
    assert ignored_home_tag("us-east-1", ["ap-south-1"], "eu-west-1", deployed) == (
        "no replica of the table is in that region"
    )
    assert ignored_home_tag("us-east-1", ["ap-south-1"], "ap-south-1", None) is None  # as before: a replica region
    assert ignored_home_tag("us-east-1", ["eu-west-1"], "eu-west-1", deployed) is None
    assert ignored_home_tag("us-east-1", None, "us-east-1", ["us-east-1"]) is None
    assert ignored_home_tag("us-east-1", None, None, ["us-east-1"]) is None
