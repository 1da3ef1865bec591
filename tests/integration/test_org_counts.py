"""Department member counts follow registrations through the members stream, once per record."""

import copy

from chalicelib.local.pump import StreamTail


def _counts(platform, *org_ids):
    return [platform.get(f"/v1/orgs/{o}", platform.admin_token).json_body["member_count"] for o in org_ids]


DEPARTMENTS = ("div-110108", "div-110100", "div-110000", "central")


def test_a_registration_counts_once_on_every_department_above_the_branch(platform):
    tail = StreamTail("mmp-test-members")
    branch = platform.new_branch("div-110108")
    before = _counts(platform, *DEPARTMENTS)
    platform.register(branch)
    event = tail.event()
    assert len(event["Records"]) == 1

    result = platform.client.lambda_.invoke("org_member_counts", event).payload
    assert result == {"batchItemFailures": []}
    assert _counts(platform, *DEPARTMENTS) == [n + 1 for n in before]
    assert _counts(platform, branch) == [1]  # the branch itself was counted in the registration

    platform.client.lambda_.invoke("org_member_counts", event)  # the same record delivered again
    assert _counts(platform, *DEPARTMENTS) == [n + 1 for n in before]


def test_a_poison_record_is_reported_and_does_not_block_the_rest(platform):
    tail = StreamTail("mmp-test-members")
    branch = platform.new_branch("div-110108")
    before = _counts(platform, *DEPARTMENTS)
    platform.register(branch)
    good = tail.event()["Records"][0]
    poison = copy.deepcopy(good)
    poison["eventID"] = "poison-" + good["eventID"]
    poison["dynamodb"]["SequenceNumber"] = "1" + good["dynamodb"]["SequenceNumber"]
    poison["dynamodb"]["NewImage"]["home_path"] = {"L": [{"S": "no-such-org"}, {"S": "br-x"}]}

    result = platform.client.lambda_.invoke("org_member_counts", {"Records": [poison, good]}).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert _counts(platform, *DEPARTMENTS) == [n + 1 for n in before]
