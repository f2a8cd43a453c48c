"""YAML that remembers where each value was written, so errors can name the line.

PyYAML's ``safe_load`` throws the marks away. Here the document is composed into nodes (which
carry them), constructed with the safe constructor as usual, and walked once to record the
line of every mapping value and sequence item by its path (``("activation", "segments", 0)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from audience.errors import ConfigError

PathKey = tuple[str | int, ...]


@dataclass
class Marked:
    """A YAML document's data and the 1-based line of each path in it."""

    data: Any
    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get(())

    def where(self, path: Sequence[str | int]) -> str:
        """``file line N`` for messages."""
        line = self.line_of(path)
        return f"{self.file} line {line}" if line else self.file


def _record(
    loader: yaml.SafeLoader, node: yaml.Node, path: PathKey, lines: dict[PathKey, int]
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key == "<<":
                continue  # merge keys: their values are recorded where they were written
            _record(loader, value_node, (*path, str(key)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record(loader, item, (*path, i), lines)


def load_marked(text: str, file: str) -> Marked:
    """Parse ``text`` (one YAML document) keeping the line of every value.

    Raises
    ------
    ConfigError
        When the text is not valid YAML, with the line of the problem.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Marked(data=None, file=file)
        data = loader.construct_document(node)
        lines: dict[PathKey, int] = {}
        _record(loader, node, (), lines)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{file}{where}: invalid YAML ({problem}); fix the syntax") from exc
    finally:
        loader.dispose()
    return Marked(data=data, file=file, lines=lines)


def load_marked_file(path: Path) -> Marked:
    """Read and parse the YAML file at ``path``, which must be UTF-8 text.

    Raises
    ------
    ConfigError
        When the file cannot be read, is not UTF-8 (naming the line and the byte), or is not
        valid YAML.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise ConfigError(
            f"{path} line {line}: not UTF-8 text (byte 0x{byte} at position {exc.start}); "
            "save the file as UTF-8"
        ) from exc
    return load_marked(text, str(path))
