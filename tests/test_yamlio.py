"""YAML reading: libyaml's parser (the fast path) gives exactly what PyYAML's pure-Python one
gives (values and every position), or declines and leaves the document to it, whose messages
users see.

Every YAML file in the repository is read both ways; so are snippets that the two parsers read
differently (found by mutating those files at random), and random mutations themselves.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import InputError
from planner.yamlio import _parse_exact, _parse_fast, parse_yaml_text, read_yaml

ROOT = Path(__file__).resolve().parent.parent
YAML_FILES = sorted(
    path for folder in ("catalogs", "problems", "tests/data")
    for path in (ROOT / folder).rglob("*") if path.suffix in (".yaml", ".yml")
)


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_agree(text: str) -> bool:
    """Both ways give the same document, or the fast path declines; True when it did not."""
    fast = _parse_fast(text, "doc.yaml")
    try:
        exact = _parse_exact(text, "doc.yaml")
    except InputError:
        assert fast is None, "libyaml accepted a document PyYAML refuses"
        return False
    if fast is None:
        return False
    assert same(fast.data, exact.data)
    assert fast.positions == exact.positions
    return True


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_repository_files_read_alike(path: Path) -> None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8 (refused before parsing)")
    assert_agree(text)


def test_the_catalogs_take_the_fast_path() -> None:
    for path in (ROOT / "catalogs" / "default").glob("*.yaml"):
        assert assert_agree(path.read_text(encoding="utf-8")), path


READ_OTHERWISE = [
    "tokens: {prompt: 500, ou?put: 200}\n",  # PyYAML ends a plain scalar at '?' in flow
    "catalogs: [defau?lt]\n",
    "a: !\n",  # an empty scalar tagged '!': null for PyYAML, '' for libyaml
    "a: >#\n  x\n",  # a comment right after a block scalar's indicator
    "a: |-#\n  x\n",
    "a:\tb\n",  # a tab as a separator
    "a: [1,\t2]\n",
    "a\ufeff: 1\n",  # a byte order mark inside the text
]


@pytest.mark.parametrize("text", READ_OTHERWISE)
def test_documents_libyaml_reads_otherwise_take_the_exact_path(text: str) -> None:
    assert _parse_fast(text, "doc.yaml") is None
    assert_agree(text)


ALIKE = [
    "a: é中文\nb: [x, y]\nc: {d: 1}\n",  # columns count characters, not bytes
    "é: 1\n中: {x: 中, y: [1, 2]}\n\U0001F600: [\U0001F600, 1]\n",
    "a: 1\r\nb:\r\n  - 2\r\n",
    "a: 1\rb: 2\r",
    "a: 1\x85b: 2\n",
    "a: 1\u2028b: 2\n",
    "%YAML 1.1\n---\na: 1\n",
    "a: &x {p: 1}\nb: *x\nc: [*x, *x]\n",
    "<<: {a: 1}\nb: 2\n",
    "? a\n: b\n",
    "{? a : b}\n",
    "[a: b, c]\n",
    "{url: http://x.y/z}\n",
    "a: 'why?'\n# why?\nb: why?\n",
    "a: 2026-01-01\nb: 0x1F\nc: .inf\nd: ~\ne: yes\nf: 1:30\n",
    "a: !!binary aGVsbG8=\n",
    "k" * 1030 + ": 1\n",
    "中" * 1000 + ": 1\n",
    "",
    "# only a comment\n",
    "--- |\n  x\n",
]


@pytest.mark.parametrize("text", ALIKE)
def test_snippets_read_alike(text: str) -> None:
    assert_agree(text)


ERRORS = [
    ("a: [1, 2\n", "invalid YAML"),
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    ("a: *missing\n", "found undefined alias"),
    ("a: !foo 1\n", "could not determine a constructor"),
    ("a: !!set {x, y}\n", "unsupported YAML tag"),
    ("a: {b: c?d}\n", "expected ',' or '}'"),
    ("- " * 70 + "x\n", "nested deeper than 64 levels"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_are_worded_by_pyyaml(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("?", r"\?")):
        parse_yaml_text(text, "doc.yaml")


def test_a_value_pyyaml_cannot_construct_is_located(tmp_path: Path) -> None:
    """2026-02-30 looks like a date but is none: one located message, not a traceback."""
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nas_of: 2026-02-30\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        read_yaml(path)
    assert str(raised.value).endswith(
        "bad.yaml:2:8: as_of: cannot read '2026-02-30' as timestamp "
        "(day is out of range for month)")


SAMPLE = (ROOT / "tests" / "data" / "bad" / "several_errors.yaml").read_text(encoding="utf-8")
PIECES = [" ", "\n", "  ", "\n  ", ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "#", "&a ",
          "*a", "!", "!!str ", "|", ">", "'", '"', "%", "@", "`", "?", "\t", "\r", "\u2028",
          "\x85", "\ufeff", "é", "中", "\\", "0", "a", "1.5"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE)), st.sampled_from(PIECES),
                          st.integers(0, 2)), min_size=1, max_size=4))
def test_mutated_documents_read_alike(edits: list[tuple[int, str, int]]) -> None:
    text = SAMPLE
    for position, piece, removed in edits:
        text = text[:position] + piece + text[position + removed:]
    assert_agree(text)
