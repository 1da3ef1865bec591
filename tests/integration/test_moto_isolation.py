"""The local DynamoDB keeps DynamoDB's promises: a cancelled transaction leaves nothing behind."""

import secrets

import pytest


def test_a_cancelled_transaction_rolls_back_items_and_stream_records(aws):
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib.local.pump import StreamTail
    from chalicelib.store import models

    org_id = "br-rollback-" + secrets.token_hex(3)
    models.Org(org_id, name="x", level="branch", sort_name="x", created_at="t", member_count=5).save()
    tail = StreamTail("mmp-test-orgs")
    with (
        pytest.raises(TransactWriteError),
        TransactWrite(connection=models.Org._get_connection().connection) as tx,
    ):
        tx.update(models.Org(org_id), actions=[models.Org.member_count.add(1)], add_version_condition=False)
        tx.save(models.StreamMark("m-" + org_id, expires_at=1))
        tx.update(
            models.Org("no-such-" + org_id),
            actions=[models.Org.member_count.add(1)],
            condition=models.Org.org_id.exists(),
            add_version_condition=False,
        )
    assert models.Org.get(org_id).member_count == 5
    assert models.StreamMark.count("m-" + org_id) == 0
    assert tail.event()["Records"] == []
