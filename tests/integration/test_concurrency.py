"""Concurrent writers never share a registration number and never lose a count."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from chalicelib.domain.registration import parse


def test_200_registrations_from_16_threads_give_200_distinct_valid_numbers(platform):
    from chalicelib.services.accounts import NewMember, register_member
    from chalicelib.store import models

    branch = platform.new_branch("div-110102")
    req = NewMember(name="并发", region_code="110102", join_date=date(2022, 2, 22), branch_id=branch)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: register_member(platform.admin_number, req), range(200)))

    numbers = [r["registration_number"] for r in results]
    assert len(set(numbers)) == 200
    for n in numbers:
        parsed = parse(n)
        assert parsed.region_code == "110102" and parsed.join_date == date(2022, 2, 22)
    assert sorted(int(n[14:17]) for n in numbers)[-1] >= 200
    assert models.Org.get(branch).member_count == 200
    assert models.Sequence.get("110102#20220222").last >= 200


def test_parallel_wrong_passwords_all_count_toward_the_lock(platform):
    from chalicelib.domain.errors import TooManyRequests, Unauthenticated
    from chalicelib.services.accounts import login

    number, _ = platform.new_member(password="right password!")

    def attempt(_):
        try:
            login(number, "wrong password!")
        except Unauthenticated:
            return 401
        except TooManyRequests:
            return 429

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(attempt, range(10)))
    assert attempt(0) == 429
