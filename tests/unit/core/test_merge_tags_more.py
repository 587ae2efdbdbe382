"""More merge-tag syntaxes (unresolved_placeholder): @FNAME@, full-width brackets, HTML-escaped
<first_name>, $first_name and ERB tags are caught in a body and repaired in a greeting; prose
that looks a little like them ("$5 off", "@home", an email address) is not a tag."""

from __future__ import annotations

import pytest

from guardrail.core.policy import default_policy
from guardrail.core.text import PlaceholderMatcher, PlaceholderResult

PLACEHOLDERS = PlaceholderMatcher(default_policy().rules.unresolved_placeholder)

TAGS = {
    "@FNAME@ (Mailchimp-style at signs)": "@FNAME@",
    "full-width brackets ［First Name］": "［First Name］",
    "full-width brackets around an identifier ［first_name］": "［first_name］",
    "HTML-escaped &lt;first_name&gt;": "&lt;first_name&gt;",
    "$first_name": "$first_name",
    "$FNAME": "$FNAME",
    "$name": "$name",
    "ERB <%= first_name %>": "<%= first_name %>",
    "ERB without spaces <%=fname%>": "<%=fname%>",
}


@pytest.mark.parametrize("tag", TAGS.values(), ids=TAGS.keys())
def test_the_tag_in_a_body_is_unresolved(tag: str) -> None:
    text = f"Your offer, {tag}, ends Sunday."
    assert PLACEHOLDERS.check(text, "Ana") == PlaceholderResult(text, False, (tag,))


@pytest.mark.parametrize("tag", TAGS.values(), ids=TAGS.keys())
def test_the_tag_in_a_greeting_takes_the_first_name(tag: str) -> None:
    result = PLACEHOLDERS.check(f"Hi {tag}, new boots are in.", "Ana")
    assert result == PlaceholderResult("Hi Ana, new boots are in.", True, ())


PROSE = {
    "a price": "Take $5 off, or $12.50 off two.",
    "a currency code after a dollar sign": "Prices in $USD and US$ apply.",
    "an at-word": "Relax @home with our new sofas.",
    "a handle and an email address": "Follow @BrandShop or write to help@example.com.",
    "an uppercase handle then an address": "Ask @SUPPORT at help@EXAMPLE.COM today.",
    "a percent sign in angle brackets": "Up to <50% off> this week, 20% off more.",
    "ampersand entities that name no field": "Tom &amp; Jerry &lt;3 &lt;b&gt;",
    "a dollar amount word": "Spend $$ less with $ave.",
    "full-width brackets around prose": "［NEW］ Spring collection ［sale］",
}


@pytest.mark.parametrize("text", PROSE.values(), ids=PROSE.keys())
def test_prose_is_not_a_tag(text: str) -> None:
    assert PLACEHOLDERS.check(text, "Ana") == PlaceholderResult(text, False, ())
