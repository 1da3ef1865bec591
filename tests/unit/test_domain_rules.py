"""Pure rules: lock-out windows, roles on the tree, department deltas, activation codes."""

from chalicelib.domain import members, orgs, roles, throttle


def test_ten_failures_within_the_window_lock_for_fifteen_minutes():
    state = throttle.FailureWindow()
    for i in range(9):
        state = throttle.after_failure(state, 1000 + i)
    assert not state.locked(1010)
    state = throttle.after_failure(state, 1010)
    assert state.locked(1011) and state.locked_until == 1010 + throttle.LOCK_SECONDS
    assert not state.locked(1010 + throttle.LOCK_SECONDS)


def test_failures_older_than_the_window_start_afresh():
    state = throttle.FailureWindow()
    for i in range(9):
        state = throttle.after_failure(state, 1000 + i)
    state = throttle.after_failure(state, 1000 + throttle.WINDOW_SECONDS)
    assert state.failures == 1 and not state.locked(1000 + throttle.WINDOW_SECONDS)


def test_a_role_on_an_ancestor_covers_the_subtree_but_not_siblings():
    held = {roles.role_key("staff", "div-110000")}
    assert roles.holds(held, ["central", "div-110000", "div-110100", "div-110105", "br-1"], ["staff"])
    assert not roles.holds(held, ["central", "div-310000", "div-310100"], ["staff"])
    assert not roles.holds(held, ["central", "div-110000"], ["editor"])
    assert roles.as_list(held) == [{"org_id": "div-110000", "role": "staff"}]


def test_moving_inside_a_county_touches_no_department():
    a = ["central", "div-110000", "div-110100", "div-110105", "br-a"]
    b = ["central", "div-110000", "div-110100", "div-110105", "br-b"]
    assert orgs.department_deltas(a, b) == {}


def test_moving_between_provinces_leaves_the_centre_alone():
    a = ["central", "div-110000", "div-110100", "div-110105", "br-a"]
    b = ["central", "div-310000", "div-310100", "div-310101", "br-b"]
    deltas = orgs.department_deltas(a, b)
    assert "central" not in deltas
    assert deltas["div-110105"] == -1 and deltas["div-310101"] == 1 and len(deltas) == 6


def test_a_new_member_counts_on_every_department_above_the_branch():
    path = ["central", "div-110000", "div-110100", "div-110105", "br-a"]
    assert orgs.department_deltas(None, path) == dict.fromkeys(path[:-1], 1)


def test_activation_codes_are_random_typable_and_checked_by_hash():
    code = members.new_activation_code()
    assert len(code) == 14 and code.count("-") == 2
    assert members.new_activation_code() != code
    stored = members.hash_activation_code("11010519491231002X", code)
    assert code not in stored
    assert members.activation_code_matches("11010519491231002X", code.lower().replace("-", " "), stored)
    assert not members.activation_code_matches("110105194912310037", code, stored)
    assert not members.activation_code_matches("11010519491231002X", code, None)


def test_members_see_themselves_and_staff_see_their_subtree():
    m = members.Member(
        "11010519491231002X", "n", "110105", "1949-12-31", "br-a", home_path=("central", "div-110000", "br-a")
    )
    assert members.can_view("11010519491231002X", frozenset(), m)
    assert members.can_view("x", frozenset({"staff@div-110000"}), m)
    assert not members.can_view("x", frozenset({"staff@div-310000"}), m)
    assert not members.can_view("x", frozenset({"secretary@br-a"}), m)


def test_store_errors_without_a_dynamodb_answer_are_neither_conflicts_nor_refusals():
    from pynamodb.exceptions import PutError

    from chalicelib.store.errors import is_conditional_failure, is_transaction_conflict, response_code

    class NoAnswer(Exception):
        response = None  # what a client error built without a response carries

    for cause in (ConnectionError("network down"), NoAnswer()):
        exc = PutError("failed", cause=cause)
        assert response_code(exc) is None
        assert not is_conditional_failure(exc) and not is_transaction_conflict(exc)
