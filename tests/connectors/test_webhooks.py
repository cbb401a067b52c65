"""What the three webhook parsers share: how deep a body nests, counted before it is parsed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.webhooks import MAX_DEPTH, nesting


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from('ab[]{}"\\:,'), max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=30,
)


@given(JSON)
def test_the_depth_counted_is_the_parsed_value_s_depth_whatever_its_strings_hold(value: object) -> None:
    assert nesting(json.dumps(value).encode()) == _depth(value)


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"{}", 1),
        (b'{"a": [1, {"b": []}], "c": {}}', 4),
        (b'{"a": "[[[[{{{{"}', 1),
        (b'{"a": "\\"[[["}', 1),
        (b"[" * 100_000 + b"]" * 100_000, MAX_DEPTH + 1),  # counted no further than one past the limit
        (b'{"a": [1, 2}', 1),  # unbalanced: the parser refuses it afterwards
        (b"", 0),
    ],
)
def test_depth_of_bodies(body: bytes, depth: int) -> None:
    assert nesting(body) == depth
