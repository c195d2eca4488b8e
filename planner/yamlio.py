"""Safe YAML reading that remembers where every value came from.

Problem and catalog files are hand-written, so errors must point at a line. The loader
records the (line, column) of every mapping key and sequence item, keyed by its path
(`("workloads", 0, "slo", "ttft_ms")`), refuses duplicate keys, oversized files, alias
bombs and absurd nesting, and never lets a YAML error escape as a traceback.

Documents are scanned and parsed by libyaml when PyYAML has it (six times faster on the
default catalog); everything after the parser (composing nodes with the limits below, their
positions, turning them into values) is the same Python code either way. A document that does
not load cleanly that way is parsed again by PyYAML's pure-Python parser, whose messages (and
verdicts) are the ones users see: libyaml words its errors differently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.reader import Reader
from yaml.resolver import Resolver

from planner.errors import InputError, Issue

MAX_FILE_BYTES = 5_000_000
MAX_ALIASES = 100
MAX_DEPTH = 64
MAX_NODES = 200_000

_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")

Path_ = tuple[str | int, ...]
Positions = dict[Path_, tuple[int, int]]


class _Limits(Composer):
    """PyYAML's composer, counting aliases and nesting (the parser comes from the loader)."""

    alias_count = 0
    depth = 0

    def compose_node(self: Any, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                event = self.peek_event()
                raise yaml.constructor.ConstructorError(
                    None, None, f"more than {MAX_ALIASES} YAML aliases", event.start_mark
                )
        # the composer recurses once per level: stop before Python's recursion limit does
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"document nested deeper than {MAX_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _LineLoader(_Limits, yaml.SafeLoader):
    """SafeLoader (pure Python) with the limits: the reference, whose errors users see."""


if yaml.__with_libyaml__:  # else every document takes the pure-Python parser
    from yaml._yaml import CParser

    class _FastLoader(_Limits, CParser, SafeConstructor, Resolver):
        """libyaml's scanner and parser under PyYAML's own composer, constructor and resolver,
        so the nodes, their marks and values are those of `_LineLoader`."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

        def compose_scalar_node(self, anchor: dict[Any, yaml.Node]) -> yaml.ScalarNode:
            event: Any = self.peek_event()
            # PyYAML ends a plain scalar at '?' inside [...] and {...}, resolves an empty one
            # tagged '!' to null and refuses a comment right after a block scalar's '|' or
            # '>'; libyaml does none of these (plain scalars have style "" here)
            if event.tag == "!" or event.style in ("|", ">") \
                    or (not event.style and "?" in event.value):
                raise _NotLikePyYaml(None, None, "read otherwise by PyYAML", event.start_mark)
            return super().compose_scalar_node(anchor)


class _NotLikePyYaml(yaml.MarkedYAMLError):
    """libyaml read something PyYAML's parser reads otherwise: parse it the exact way."""


class LoadedYaml:
    """A parsed YAML document plus the position of each path in it."""

    def __init__(self, file: str, data: Any, positions: Positions) -> None:
        self.file = file
        self.data = data
        self.positions = positions

    def position(self, path: Path_) -> tuple[int | None, int | None]:
        """Line and column of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return (1, 1) if self.positions else (None, None)

    def issue(self, path: Path_, message: str) -> Issue:
        line, column = self.position(path)
        return Issue(self.file, line, column, format_path(path), message)


def format_path(path: Path_) -> str:
    """`("workloads", 0, "slo")` -> `workloads[0].slo`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _to_python(
    loader: SafeConstructor, node: yaml.Node, path: Path_, positions: Positions, depth: int,
    file: str,
) -> Any:
    if depth > MAX_DEPTH:
        raise InputError(
            [Issue(file, node.start_mark.line + 1, node.start_mark.column + 1, format_path(path),
                   f"document nested deeper than {MAX_DEPTH} levels")]
        )
    if len(positions) > MAX_NODES:
        raise InputError([Issue(file, node.start_mark.line + 1, node.start_mark.column + 1,
                                format_path(path),
                                f"document expands to more than {MAX_NODES} values "
                                "(an alias bomb?)")])
    if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_TAGS:
        raise InputError([Issue(file, node.start_mark.line + 1, node.start_mark.column + 1,
                                format_path(path), f"unsupported YAML tag '{node.tag}'")])
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _to_python(loader, key_node, path, positions, depth + 1, file)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise InputError([Issue(file, key_node.start_mark.line + 1,
                                        key_node.start_mark.column + 1, format_path(path),
                                        "mapping keys must be plain names")])
            key = str(key)
            child = (*path, key)
            if key in result:
                raise InputError([Issue(file, key_node.start_mark.line + 1,
                                        key_node.start_mark.column + 1, format_path(child),
                                        f"duplicate key '{key}'")])
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _to_python(loader, value_node, child, positions, depth + 1, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item_node in enumerate(node.value):
            child = (*path, index)
            positions[child] = (item_node.start_mark.line + 1, item_node.start_mark.column + 1)
            items.append(_to_python(loader, item_node, child, positions, depth + 1, file))
        return items
    try:
        return loader.construct_object(node)
    except (ValueError, TypeError, AttributeError) as exc:  # e.g. a date of 2026-02-30
        kind = str(node.tag).rsplit(":", 1)[-1]
        raise InputError([Issue(file, node.start_mark.line + 1, node.start_mark.column + 1,
                                format_path(path),
                                f"cannot read '{node.value}' as {kind} ({exc})")]) from None


def parse_yaml_text(text: str, file: str) -> LoadedYaml:
    """Parse YAML text; every failure becomes an `InputError` naming the file and line."""
    if "\t" in text:
        for number, line_text in enumerate(text.splitlines(), start=1):
            indent = line_text[: len(line_text) - len(line_text.lstrip())]
            if "\t" in indent:
                raise InputError([Issue(file, number, indent.index("\t") + 1, "",
                                        "tab character in indentation; YAML needs spaces")])
    return _parse_fast(text, file) or _parse_exact(text, file)


def _parse_fast(text: str, file: str) -> LoadedYaml | None:
    """The document through libyaml's parser, or None when it does not load cleanly that way
    (or libyaml is missing, or a character that PyYAML's reader refuses is present)."""
    # libyaml takes tabs as separators where PyYAML refuses them, and counts columns
    # differently after a byte order mark
    if not yaml.__with_libyaml__ or "\t" in text or "\ufeff" in text \
            or Reader.NON_PRINTABLE.search(text):
        return None
    loader = _FastLoader(text)
    positions: Positions = {}
    try:
        root = loader.get_single_node()
        data = None if root is None else _to_python(loader, root, (), positions, 0, file)
    except (yaml.YAMLError, InputError, RecursionError):
        return None  # `_parse_exact` finds the problem again and words it
    finally:
        loader.dispose()
    return LoadedYaml(file, data, positions)


def _parse_exact(text: str, file: str) -> LoadedYaml:
    """The document through PyYAML's pure-Python parser; any failure becomes an `InputError`."""
    loader = _LineLoader(text)
    positions: Positions = {}
    try:
        root = loader.get_single_node()
        data = None if root is None else _to_python(loader, root, (), positions, 0, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        reason = exc.problem or str(exc)
        if exc.context and exc.problem and exc.problem.startswith("but "):
            reason = f"{exc.context}, {exc.problem}"  # "expected a single document..., but ..."
        elif exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
            reason += f" ({exc.context} from line {exc.context_mark.line + 1})"
        raise InputError([Issue(file, line, column, "", f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Issue(file, None, None, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise InputError([Issue(file, None, None, "", "document nested too deeply")]) from None
    finally:
        loader.dispose()
    return LoadedYaml(file, data, positions)


def read_yaml(path: Path, what: str = "file") -> LoadedYaml:
    """Read and parse a YAML file with size and type checks."""
    file = str(path)
    if not path.exists():
        raise InputError([Issue(file, None, None, "", f"{what} not found")])
    if path.is_dir():
        raise InputError([Issue(file, None, None, "", f"{what} is a directory, expected a YAML file")])
    if not path.is_file():  # a FIFO or device would block or never end
        raise InputError([Issue(file, None, None, "", f"{what} is not a regular file")])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError([Issue(file, None, None, "",
                                    f"{what} is {size / 1e6:.1f} MB; the limit is "
                                    f"{MAX_FILE_BYTES / 1e6:.0f} MB")])
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # the file may grow after stat
    except OSError as exc:
        raise InputError([Issue(file, None, None, "",
                                f"cannot read {what} ({exc.strerror or exc})")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError([Issue(file, None, None, "",
                                f"{what} is over the {MAX_FILE_BYTES / 1e6:.0f} MB limit")])
    if b"\x00" in raw:
        line, column = _line_column(raw, raw.index(b"\x00"))
        raise InputError([Issue(file, line, column, "",
                                f"{what} is binary (NUL byte), expected YAML text")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _line_column(raw, exc.start)
        raise InputError([Issue(file, line, column, "", f"{what} is not UTF-8 text "
                                f"({exc.reason}: byte 0x{raw[exc.start]:02x})")]) from None
    return parse_yaml_text(text, file)


def _line_column(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and (byte) column of `offset` in `raw`."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, offset - line_start + 1
