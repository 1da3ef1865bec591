"""Markdown to HTML: a real parser and a real sanitiser; nothing active ever reaches a client."""

from __future__ import annotations

import re

import pytest

from chalicelib.domain import markdown

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    '<img src="https://x.example/a.png" onerror="alert(1)">',
    "<img src=x onerror=alert(1)//>",
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![i](javascript:alert(1))",
    "![i](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<form action="https://evil.example"><input name=a></form>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<p onclick="alert(1)">click</p>',
    '<a href="https://ok.example" onmouseover="alert(1)">x</a>',
    "<base href=https://evil.example/>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<details open ontoggle=alert(1)>",
    "<!-- <script>alert(1)</script> -->",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_no_active_content_survives_rendering(attack):
    html = markdown.render(f"before\n\n{attack}\n\nafter")
    # what survives is only text or allowed tags: no tag or attribute that can run code
    for tag in re.findall(r"<\s*([a-zA-Z][a-zA-Z0-9]*)", html):
        assert tag.lower() in markdown.ALLOWED_TAGS, (attack, html)
    for href in re.findall(r'(?:href|src)="([^"]*)"', html):
        assert href.startswith(("http://", "https://")), (attack, html)
    assert not re.search(r"\son\w+\s*=", html), html
    assert "<script" not in html.lower() and "<iframe" not in html.lower()


@pytest.mark.parametrize("attack", ATTACKS)
def test_every_attack_is_reported_to_the_editor(attack):
    assert markdown.inspect(attack), attack


def test_comments_are_dropped_not_rendered():
    assert markdown.render("<!-- <script>alert(1)</script> -->\n\ntext").strip() == "<p>text</p>"


def test_ordinary_markdown_renders_with_safe_links():
    html = markdown.render(
        "# 标题\n\n**粗体** _斜体_ ~~删除~~ `code`\n\n- 一\n- 二\n\n1. a\n2. b\n\n> 引用\n\n"
        "[学习](https://example.com/a?b=1&c=2)\n\n![图](https://img.example/a.png)\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h1>标题</h1>" in html and "<strong>粗体</strong>" in html and "<s>删除</s>" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">学习</a>' in html
    assert '<img src="https://img.example/a.png" alt="图">' in html
    assert "<table>" in html and "<blockquote>" in html


def test_safe_raw_html_is_kept_and_unknown_tags_are_stripped():
    html = markdown.render("a <b>bold</b> <u>u</u> <marquee>m</marquee> <span class=x>s</span>")
    assert "<b>bold</b>" in html and "<u>u</u>" in html
    assert "marquee" not in html and "span" not in html


@pytest.mark.parametrize(
    "url",
    [
        "/relative",
        "#anchor",
        "mailto:a@b.c",
        "ftp://x.example/f",
        "data:image/png;base64,AAA",
        "//evil.example/x",
    ],
)
def test_links_must_be_absolute_http_urls(url):
    assert markdown.url_problem(url)
    assert markdown.inspect(f"[x]({url})")
    assert 'href="' not in markdown.render(f"[x]({url})")


def test_ordinary_text_with_angle_brackets_is_fine():
    assert markdown.inspect("1 < 2 and 3 > 2, a<b, 《人民日报》") == []
    assert markdown.url_problem("https://例子.中国/路径") is None
