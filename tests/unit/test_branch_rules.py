"""Virtual-branch rules without AWS: states, offices, supervision authority, masked names, texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import branches as rules
from chalicelib.domain.errors import Conflict, ValidationFailed


def make(**kw) -> rules.VirtualBranch:
    base = dict(
        org_id="vb-0123456789ab",
        name="学习组",
        description="",
        status=rules.ACTIVE,
        secretary="S",
        secretary_name="张*",
        supervising_org_id="div-110105",
        supervising_org_name="朝阳区",
        supervising_division_code="110105",
        supervising_path=("central", "div-110000", "div-110100", "div-110105"),
        member_count=3,
        created_at="2026-11-25T00:00:00+00:00",
    )
    base.update(kw)
    return rules.VirtualBranch(**base)


@pytest.mark.parametrize(
    ("action", "start", "end"),
    [
        ("suspend", "active", "suspended"),
        ("reinstate", "suspended", "active"),
        ("dissolve", "active", "dissolved"),
        ("dissolve", "suspended", "dissolved"),
    ],
)
def test_supervision_moves_the_state(action, start, end):
    assert rules.check_transition(action, start) == end


@pytest.mark.parametrize(
    ("action", "start"),
    [("suspend", "suspended"), ("suspend", "dissolved"), ("reinstate", "active"), ("dissolve", "dissolved")],
)
def test_supervision_from_the_wrong_state_is_a_conflict(action, start):
    with pytest.raises(Conflict):
        rules.check_transition(action, start)


def test_only_an_active_branch_takes_joins():
    rules.check_takes_joins(make())
    for status in ("suspended", "dissolved"):
        with pytest.raises(Conflict):
            rules.check_takes_joins(make(status=status))


def test_outdated_texts_name_the_current_versions():
    rules.check_texts_current(2, 3, 2, 3)
    rules.check_texts_current("2", " 3", 2, 3)  # as text, too
    with pytest.raises(Conflict) as caught:
        rules.check_texts_current(1, 3, 2, 3)
    assert caught.value.errors == [{"field": "accepted_rules_version", "message": "the current version is 2"}]
    with pytest.raises(Conflict) as caught:
        rules.check_texts_current(2, "v2", 2, 3)
    assert [e["field"] for e in caught.value.errors] == ["accepted_covenant_version"]


def test_the_secretary_and_deputies_decide_joins():
    branch = make(deputies=frozenset({"D"}))
    assert branch.decides_joins("S") and branch.decides_joins("D") and not branch.decides_joins("M")
    assert [branch.role_of(n) for n in "SDM"] == ["secretary", "deputy", "member"]


def test_at_most_five_deputies_and_never_the_secretary():
    full = make(deputies=frozenset("ABCDE"))
    with pytest.raises(Conflict):
        rules.check_new_deputy(full, "F")
    with pytest.raises(Conflict):
        rules.check_new_deputy(make(deputies=frozenset("A")), "A")
    with pytest.raises(ValidationFailed):
        rules.check_new_deputy(make(), "S")
    rules.check_new_deputy(make(deputies=frozenset("ABCD")), "E")


def test_the_public_view_carries_no_registration_numbers():
    view = make(secretary="110105202007010016", deputies=frozenset({"110105202007010024"})).public()
    assert "110105202007010016" not in str(view) and "110105202007010024" not in str(view)
    assert view["secretary_name"] == "张*" and view["deputy_count"] == 1


def test_reassignment_needs_staff_of_a_department_over_both_places():
    chaoyang = ("central", "div-110000", "div-110100", "div-110105")
    haidian = ("central", "div-110000", "div-110100", "div-110108")
    shenzhen = ("central", "div-440000", "div-440300")
    assert rules.reassign_authority(frozenset({"staff@div-110105"}), chaoyang, haidian) is None
    assert rules.reassign_authority(frozenset({"staff@div-110100"}), chaoyang, haidian) == "div-110100"
    assert rules.reassign_authority(frozenset({"staff@div-110100"}), chaoyang, shenzhen) is None
    assert (
        rules.reassign_authority(frozenset({"staff@central", "staff@div-110000"}), chaoyang, haidian)
        == "div-110000"
    )
    # staff of two unrelated departments still act as one department at a time
    assert (
        rules.reassign_authority(frozenset({"staff@div-110105", "staff@div-440300"}), chaoyang, shenzhen)
        is None
    )


def test_a_pending_request_is_overdue_after_seven_days():
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert not rules.is_overdue((now - timedelta(days=6)).isoformat(), now)
    assert rules.is_overdue((now - timedelta(days=8)).isoformat(), now)
    assert not rules.is_overdue("not a time", now)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("李小龙", "李**"),
        ("欧阳娜娜", "欧阳**"),
        ("诸葛亮", "诸葛*"),
        ("欧阳", "欧*"),
        ("王", "王*"),
        ("Anna Li", "A**"),
        ("阿卜杜拉·买买提 Abdullah", "阿***"),
        ("", "*"),
    ],
)
def test_names_are_masked_for_the_public(name, masked):
    assert rules.mask_name(name) == masked


def test_branch_ids_are_recognised_by_shape():
    assert rules.is_branch_id(rules.new_branch_id())
    for bad in ("vb-123", "div-110105", "vb-0123456789AB", "vb-0123456789ab/x", ""):
        assert not rules.is_branch_id(bad)


def test_every_text_has_a_chinese_and_an_english_version():
    from chalicelib.domain.texts import load_texts

    texts = load_texts()
    assert {t.kind for t in texts} == {"rules", "covenant"}
    for t in texts:
        assert t.zh.strip() and t.en.strip() and t.zh.strip() in t.combined and t.en.strip() in t.combined
        assert len(t.digest) == 64
