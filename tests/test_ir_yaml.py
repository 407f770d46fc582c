"""The IR's YAML writer: whatever the strings, the output is YAML that reads back to the same data."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshc.ir import Block, dump_yaml
from meshc.source import load


def test_control_characters_and_unicode_line_breaks_are_escaped() -> None:
    """Found by tests/fuzz (compile --target ir): a C1 control in a header value made the IR unreadable."""
    data = {"value": "a\x84b\x85c\u2028d\x7f\ufeff", "plain": "x\ttab"}
    text = dump_yaml(data)
    assert "\x84" not in text and "\u2028" not in text
    assert yaml.safe_load(text) == data


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.text() | st.lists(st.text(), max_size=3), max_size=4))
def test_any_strings_read_back_the_same(data: dict[str, object]) -> None:
    text = dump_yaml({"data": data})
    assert yaml.safe_load(text) == {"data": data}
    [doc] = load(["-"], stdin=text.encode()).documents
    assert doc.data == {"data": data}


# Text made of the characters YAML gives a meaning to, so that most examples are near a rule.
_yamlish = st.text(alphabet="ab:/_-.#&*!|>'\"%@`,[]{}? \n\t", max_size=10)
_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | _yamlish,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_yamlish, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=250, deadline=None)
@given(st.dictionaries(_yamlish, _trees, max_size=4))
def test_nested_data_of_yaml_syntax_reads_back_the_same(data: dict[str, object]) -> None:
    """Lists of lists and of mappings (the "- " leads of the writer), strings of YAML's punctuation.

    Found by the long fuzz profile: a value ending in `:` was written plain.
    """
    text = dump_yaml({"data": data})
    assert yaml.safe_load(text) == {"data": data}
    assert dump_yaml({"uri": "https://x/c:"}) == 'uri: "https://x/c:"\n'


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_yamlish, _trees, min_size=1, max_size=3), st.lists(st.integers(0, 3), min_size=1, max_size=6))
def test_a_block_is_written_as_its_mapping_wherever_it_recurs(inner: dict[str, object], places: list[int]) -> None:
    """A recurring `Block` is written from the text made on its second appearance: the same bytes as the mapping.

    It recurs as a mapping's value, a list's item and an item of a list in a list, at several indents.
    """
    block = Block(inner)
    shapes = [
        lambda b: {"k": b},
        lambda b: [b, "x"],
        lambda b: {"deep": {"er": [[b]]}},
        lambda b: [{"a": 1, "b": b}],
    ]
    data = {f"p{i}": shapes[n](block) for i, n in enumerate(places)}
    data["again"] = {f"p{i}": shapes[n](block) for i, n in enumerate(places)}
    assert dump_yaml(data) == dump_yaml(_plain(data))


def test_a_block_cannot_be_changed_but_is_a_dict_to_its_readers() -> None:
    block = Block({"a": {"b": 1}})
    for change in (
        lambda: block.__setitem__("a", 2),
        lambda: block.__delitem__("a"),
        lambda: block.update(a=2),
        lambda: block.pop("a"),
        lambda: block.setdefault("c", 1),
        lambda: block.clear(),
    ):
        with pytest.raises(TypeError):
            change()
    assert block == {"a": {"b": 1}}
    assert copy.deepcopy(block) == block and type(copy.deepcopy(block)) is Block
    assert json.dumps(block) == '{"a": {"b": 1}}'
