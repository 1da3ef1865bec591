"""Organisational life: reflections, study groups and posts, discussions; who may write, delete, hide."""

from __future__ import annotations

from tests.integration import content_setup as c


def activities(number):
    from chalicelib.store import models

    return [(a.type, a.target) for a in models.Activity.query(number)]


def staff_of(platform, org_id):
    number, token = platform.new_member()
    platform.grant(org_id, number, "staff")
    return token


def page_through(platform, path, token, limit):
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        resp = platform.get(f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), token)
        assert resp.status_code == 200, resp.body
        items.extend(resp.json_body["items"])
        cursor = resp.json_body["next_cursor"]
        if cursor is None:
            return items


# ---- reflections ----------------------------------------------------------------------------------


def test_reflections_under_an_article_newest_first_and_counted(platform):
    number, token = platform.new_member(name="王小明")
    _, other = platform.new_member()
    article_id = c.publish(platform)["articles"][0]["article_id"]
    path = f"/v1/articles/{article_id}/reflections"
    created = [platform.post(path, {"body": f"心得 {i}"}, token) for i in range(5)]
    assert all(r.status_code == 201 for r in created), created[0].body
    first = created[0].json_body
    assert first["author_name"] == "王**" and first["mine"] and first["article_id"] == article_id
    listed = page_through(platform, path, other, 2)
    assert [r["body"] for r in listed] == [f"心得 {i}" for i in reversed(range(5))]
    assert not any(r["mine"] for r in listed)
    assert activities(number).count(("reflection", article_id)) == 5


def test_reflection_input_and_unknown_articles(platform):
    _, token = platform.new_member()
    article_id = c.publish(platform)["articles"][0]["article_id"]
    path = f"/v1/articles/{article_id}/reflections"
    assert platform.post(path, {"body": ""}, token).status_code == 400
    assert platform.post(path, {"body": "   "}, token).status_code == 400
    assert platform.post(path, {"body": "x" * 5001}, token).status_code == 400
    assert platform.post(path, {"body": "x" * 5000}, token).status_code == 201
    assert platform.post(path, {"body": "x", "extra": 1}, token).status_code == 400
    assert platform.post("/v1/articles/nope/reflections", {"body": "x"}, token).status_code == 404
    assert platform.get("/v1/articles/nope/reflections", token).status_code == 404
    assert platform.post(path, {"body": "x"}).status_code == 401


def test_authors_delete_their_own_reflections_only(platform):
    _, author = platform.new_member()
    _, other = platform.new_member()
    article_id = c.publish(platform)["articles"][0]["article_id"]
    path = f"/v1/articles/{article_id}/reflections"
    rid = platform.post(path, {"body": "我的心得"}, author).json_body["id"]
    assert platform.delete(f"{path}/{rid}", other).status_code == 403
    assert platform.delete(f"{path}/{rid}", platform.admin_token).status_code == 403  # staff hide, not delete
    assert platform.delete(f"{path}/{rid}", author).json_body == {"id": rid, "deleted": True}
    assert platform.delete(f"{path}/{rid}", author).status_code == 404
    assert platform.get(path, other).json_body["items"] == []


def test_staff_of_the_publishing_department_or_above_hide_reflections(platform):
    _, author = platform.new_member()
    article_id = c.publish(platform, "110105")["articles"][0]["article_id"]
    path = f"/v1/articles/{article_id}/reflections"
    rid = platform.post(path, {"body": "不当言论"}, author).json_body["id"]
    hide = {"reason": "违反讨论规范"}
    assert platform.post(f"{path}/{rid}/hide", hide, author).status_code == 403
    assert platform.post(f"{path}/{rid}/hide", hide, staff_of(platform, "div-110108")).status_code == 403
    assert platform.post(f"{path}/{rid}/hide", {}, staff_of(platform, "div-110105")).status_code == 400
    hidden = platform.post(f"{path}/{rid}/hide", hide, staff_of(platform, "div-110105"))
    assert hidden.status_code == 200, hidden.body
    listed = platform.get(path, author).json_body["items"][0]
    assert (listed["status"], listed["body"], listed["hidden_reason"]) == ("hidden", None, "违反讨论规范")
    rid2 = platform.post(path, {"body": "x"}, author).json_body["id"]
    assert platform.post(f"{path}/{rid2}/hide", hide, staff_of(platform, "div-110000")).status_code == 200
    assert platform.post(f"{path}/r-00000000000000000000/hide", hide, platform.admin_token).status_code == 404


# ---- study groups ---------------------------------------------------------------------------------


def test_a_group_is_founded_with_its_founder_as_member_and_listed(platform):
    branch = platform.new_branch("div-110106")
    _, founder = platform.new_member(branch, name="李雷")
    _, neighbour = platform.new_member(platform.new_branch("div-110106"))
    resp = platform.post("/v1/groups", {"name": "理论学习小组", "topic": "学习"}, founder)
    assert resp.status_code == 201, resp.body
    group = resp.json_body
    assert group["member"] and group["member_count"] == 1 and group["org_id"] == "div-110106"
    assert group["founder_name"] == "李*" and group["founded_by_me"]
    listed = page_through(platform, "/v1/groups", neighbour, 50)
    assert group["group_id"] in [g["group_id"] for g in listed]
    mine = platform.get("/v1/groups?mine=true", founder).json_body["items"]
    assert [g["group_id"] for g in mine] == [group["group_id"]]
    assert platform.get(f"/v1/groups/{group['group_id']}", neighbour).json_body["member"] is False
    for bad in [{"name": "", "topic": "x"}, {"name": "x"}, {"name": "x", "topic": "y", "z": 1}]:
        assert platform.post("/v1/groups", bad, founder).status_code == 400


def test_joining_and_leaving(platform):
    _, founder = platform.new_member()
    _, member = platform.new_member()
    gid = platform.post("/v1/groups", {"name": "小组", "topic": "t"}, founder).json_body["group_id"]
    joined = platform.post(f"/v1/groups/{gid}/join", None, member)
    assert joined.status_code == 200 and joined.json_body["member_count"] == 2
    assert platform.post(f"/v1/groups/{gid}/join", None, member).status_code == 409
    assert platform.get(f"/v1/groups/{gid}", member).json_body["member"] is True
    assert platform.post(f"/v1/groups/{gid}/leave", None, member).json_body == {
        "group_id": gid,
        "member": False,
    }
    assert platform.post(f"/v1/groups/{gid}/leave", None, member).status_code == 409
    assert platform.get(f"/v1/groups/{gid}", member).json_body["member_count"] == 1
    assert platform.post("/v1/groups/g-00000000000000000000/join", None, member).status_code == 404
    assert platform.get("/v1/groups/not-an-id", member).status_code == 404


def test_only_members_read_and_write_a_groups_posts(platform):
    number, founder = platform.new_member()
    _, outsider = platform.new_member()
    gid = platform.post("/v1/groups", {"name": "小组", "topic": "t"}, founder).json_body["group_id"]
    path = f"/v1/groups/{gid}/posts"
    assert platform.post(path, {"body": "外人"}, outsider).status_code == 403
    assert platform.get(path, outsider).status_code == 403
    for i in range(4):
        assert platform.post(path, {"body": f"帖子 {i}"}, founder).status_code == 201
    assert [p["body"] for p in page_through(platform, path, founder, 3)] == [
        f"帖子 {i}" for i in (3, 2, 1, 0)
    ]
    assert activities(number).count(("group_post", gid)) == 4
    # someone who left may no longer post
    _, leaver = platform.new_member()
    platform.post(f"/v1/groups/{gid}/join", None, leaver)
    assert platform.post(path, {"body": "在"}, leaver).status_code == 201
    platform.post(f"/v1/groups/{gid}/leave", None, leaver)
    assert platform.post(path, {"body": "走了"}, leaver).status_code == 403


def test_authors_delete_their_posts_and_staff_above_the_group_hide_them(platform):
    branch = platform.new_branch("div-110105")
    _, founder = platform.new_member(branch)
    _, member = platform.new_member()
    gid = platform.post("/v1/groups", {"name": "小组", "topic": "t"}, founder).json_body["group_id"]
    platform.post(f"/v1/groups/{gid}/join", None, member)
    path = f"/v1/groups/{gid}/posts"
    pid = platform.post(path, {"body": "我的帖子"}, member).json_body["id"]
    assert platform.delete(f"{path}/{pid}", founder).status_code == 403
    assert platform.delete(f"{path}/{pid}", member).status_code == 200
    pid = platform.post(path, {"body": "不当"}, member).json_body["id"]
    hide = {"reason": "不当内容"}
    assert platform.post(f"{path}/{pid}/hide", hide, founder).status_code == 403
    assert platform.post(f"{path}/{pid}/hide", hide, staff_of(platform, "div-110108")).status_code == 403
    county_staff = staff_of(platform, "div-110105")
    assert platform.get(path, county_staff).status_code == 200  # moderators read without joining
    assert platform.post(f"{path}/{pid}/hide", hide, county_staff).status_code == 200
    assert platform.post(f"{path}/{pid}/hide", hide, staff_of(platform, branch)).status_code == 200
    shown = platform.get(path, member).json_body["items"][0]
    assert (shown["status"], shown["body"], shown["hidden_reason"]) == ("hidden", None, "不当内容")


# ---- discussions ----------------------------------------------------------------------------------


def test_discussions_and_replies_newest_first(platform):
    _, author = platform.new_member()
    _, other = platform.new_member()
    created = platform.post("/v1/discussions", {"title": "如何学习", "body": "大家说说"}, author)
    assert created.status_code == 201, created.body
    thread = created.json_body
    assert thread["org_id"] == "central" and thread["mine"]
    assert thread["discussion_id"] in [
        d["discussion_id"] for d in platform.get("/v1/discussions", other).json_body["items"]
    ]
    path = f"/v1/discussions/{thread['discussion_id']}/replies"
    for i in range(3):
        assert platform.post(path, {"body": f"回复 {i}"}, other).status_code == 201
    assert [r["body"] for r in page_through(platform, path, author, 2)] == ["回复 2", "回复 1", "回复 0"]
    assert platform.get(f"/v1/discussions/{thread['discussion_id']}", other).json_body["reply_count"] == 3
    assert (
        platform.post("/v1/discussions/d-00000000000000000000/replies", {"body": "x"}, other).status_code
        == 404
    )
    assert platform.get("/v1/discussions/d-00000000000000000000/replies", other).status_code == 404


def test_threads_in_a_departments_area_are_for_its_members(platform):
    _, member = platform.new_member(platform.new_branch("div-110105"))
    ok = platform.post("/v1/discussions", {"title": "区里的事", "body": "b", "org_id": "div-110105"}, member)
    assert ok.status_code == 201
    listed = platform.get("/v1/discussions?org_id=div-110105", member).json_body["items"]
    assert ok.json_body["discussion_id"] in [d["discussion_id"] for d in listed]
    other_area = platform.post("/v1/discussions", {"title": "t", "body": "b", "org_id": "div-310104"}, member)
    assert other_area.status_code == 403
    assert (
        platform.post("/v1/discussions", {"title": "t", "body": "b", "org_id": "nope"}, member).status_code
        == 400
    )


def test_discussion_authors_delete_and_staff_of_the_area_hide(platform):
    _, author = platform.new_member(platform.new_branch("div-110105"))
    _, other = platform.new_member()
    did = platform.post(
        "/v1/discussions", {"title": "t", "body": "b", "org_id": "div-110105"}, author
    ).json_body["discussion_id"]
    rid = platform.post(f"/v1/discussions/{did}/replies", {"body": "回复"}, other).json_body["id"]
    hide = {"reason": "离题"}
    assert platform.delete(f"/v1/discussions/{did}/replies/{rid}", author).status_code == 403
    assert platform.post(f"/v1/discussions/{did}/replies/{rid}/hide", hide, other).status_code == 403
    assert (
        platform.post(
            f"/v1/discussions/{did}/replies/{rid}/hide", hide, staff_of(platform, "div-110108")
        ).status_code
        == 403
    )
    assert (
        platform.post(
            f"/v1/discussions/{did}/replies/{rid}/hide", hide, staff_of(platform, "div-110105")
        ).status_code
        == 200
    )
    assert (
        platform.post(f"/v1/discussions/{did}/hide", hide, staff_of(platform, "div-310104")).status_code
        == 403
    )
    hidden = platform.post(f"/v1/discussions/{did}/hide", hide, platform.admin_token).json_body
    assert (hidden["status"], hidden["title"], hidden["hidden_reason"]) == ("hidden", None, "离题")
    assert platform.post(f"/v1/discussions/{did}/replies", {"body": "x"}, other).status_code == 409
    assert platform.delete(f"/v1/discussions/{did}", other).status_code == 403
    assert platform.delete(f"/v1/discussions/{did}", author).status_code == 200
    assert platform.get(f"/v1/discussions/{did}", author).status_code == 404


def test_a_reply_deleted_by_its_author_leaves_the_count(platform):
    _, author = platform.new_member()
    did = platform.post("/v1/discussions", {"title": "t", "body": "b"}, author).json_body["discussion_id"]
    rid = platform.post(f"/v1/discussions/{did}/replies", {"body": "回复"}, author).json_body["id"]
    assert platform.delete(f"/v1/discussions/{did}/replies/{rid}", author).status_code == 200
    assert platform.get(f"/v1/discussions/{did}", author).json_body["reply_count"] == 0


def test_life_routes_need_a_signed_in_member(platform):
    for path in ["/v1/groups", "/v1/discussions", "/v1/groups/g-00000000000000000000/posts"]:
        assert platform.get(path).status_code == 401
