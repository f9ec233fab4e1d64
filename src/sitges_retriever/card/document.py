"""A card file as the Hub reads it: YAML front matter (parsed and dumped with PyYAML) and a Markdown body.

The body is kept byte for byte except between the sitges-retriever markers. The front matter is dumped whole
again, as `huggingface_hub.RepoCard` does (`safe_dump` reproduces the Hub's layout), only when a value changes.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from ..errors import CardError

METRICS, TRAINING = "metrics", "training"
#: A missing section goes before the first heading naming one of these words, else at the end of the body.
_LATER = {METRICS: ("training", "limitations", "citation"), TRAINING: ("limitations", "citation", "bibtex")}
_BLOCKS = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}).*?^[ \t]{0,3}\1|^#{1,6}[ \t]+([^\n]*)$", re.M | re.S)
#: Front-matter keys the Hub reads as a string or a list of strings, and as a string only.
_LISTS, _STRINGS = ("tags", "metrics", "language", "base_model"), ("license", "library_name", "pipeline_tag")


@dataclass(frozen=True)
class Card:
    """A card split the way the Hub splits it: opening `---`, YAML, closing `---`, Markdown body."""

    source: str
    head: str
    yaml_text: str
    close: str
    body: str
    data: dict[str, Any]
    newline: str

    def text(self, data: dict[str, Any] | None = None, body: str | None = None) -> str:
        """The card with `data` as front matter (dumped only when it differs) and `body`."""
        yaml_text = self.yaml_text if data is None or data == self.data else dump_yaml(data, self.newline)
        return self.head + yaml_text + self.close + (self.body if body is None else body)


def read_card(path: str | os.PathLike[str]) -> Card:
    """Read and parse a card file; a missing file, bad encoding or broken front matter raises `CardError`."""
    try:
        return parse_card(Path(path).read_bytes().decode("utf-8"), str(path))
    except FileNotFoundError as error:
        raise CardError(f"No card at {path}.") from error
    except OSError as error:
        raise CardError(f"Cannot read the card {path}: {error}.") from error
    except UnicodeDecodeError as error:
        raise CardError(f"{path} is not UTF-8 text (byte {error.start}); save the card as UTF-8.") from error


def parse_card(text: str, source: str = "the card") -> Card:
    """Split `text` into front matter and body, as `huggingface_hub.ModelCard` does, and parse the YAML."""
    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        what = ": the front matter opened by '---' has no closing '---' line (or is empty)"
        what = what if text.lstrip().startswith("---") else " has no YAML front matter, which a Hub card starts with"
        raise CardError(f"{source}{what}; write it between two '---' lines, e.g. ---/library_name: x/---.")
    head, yaml_text, close = match.group(1), match.group(2), match.group(3)
    try:
        data = yaml.safe_load(yaml_text)
    except (yaml.YAMLError, ValueError, OverflowError) as error:  # PyYAML raises ValueError for e.g. bad dates
        mark = getattr(error, "problem_mark", None)
        where = f" at line {head.count(chr(10)) + mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or error
        raise CardError(f"{source}: the YAML front matter is broken{where}: {problem}. It was not changed.") from error
    if not isinstance(data, dict) and data is not None:
        raise CardError(f"{source}: the front matter must be a YAML mapping (key: value lines), not a list or text.")
    newline = "\r\n" if head.endswith("\r\n") else "\n"
    return Card(source, head, yaml_text, close, text[match.end() :], data or {}, newline)


def dump_yaml(data: dict[str, Any], newline: str = "\n") -> str:
    """`data` as front matter text (without the final newline), in the Hub's layout."""
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=float("inf"), line_break=newline)
    return text.removesuffix(newline)


def type_problems(data: dict[str, Any]) -> list[str]:
    """What is wrong with the types of the front matter's Hub keys (e.g. `tags: 5`), one sentence each."""
    problems = []
    for key in (*_LISTS, *_STRINGS):
        value = data.get(key)
        items = value if isinstance(value, list) and key in _LISTS else [value]
        if value is not None and not all(isinstance(item, str) for item in items):
            shape = "a string or a list of strings" if key in _LISTS else "a string"
            problems.append(f"the front matter's {key} is {value!r}; it must be {shape}.")
    return problems


def comment_line(card: Card) -> int | None:
    """The file line of the first YAML comment, which dumping the front matter again would drop; else None."""
    if "#" not in card.yaml_text:
        return None
    tokens = yaml.scan(card.yaml_text)
    scalars = [(t.start_mark.index, t.end_mark.index) for t in tokens if isinstance(t, yaml.ScalarToken)]
    for match in re.finditer("#", card.yaml_text):
        if not any(start <= match.start() < end for start, end in scalars):
            return card.head.count("\n") + card.yaml_text.count("\n", 0, match.start()) + 1
    return None


def marker(name: str, end: bool = False) -> str:
    return f"<!-- sitges-retriever:{name}:{'end' if end else 'start'} -->"


def section(body: str, name: str, source: str = "the card") -> tuple[int, int] | None:
    """The (start, end) offsets of section `name`, markers included, or None when the body has no markers."""
    starts = [m.start() for m in re.finditer(rf"^{re.escape(marker(name))}(?=[ \t]*\r?$)", body, re.M)]
    ends = [m.end() for m in re.finditer(rf"^{re.escape(marker(name, True))}(?=[ \t]*\r?$)", body, re.M)]
    if not starts and not ends:
        return None
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise CardError(
            f"{source}: the generated {name} section must be one line {marker(name)}, later one line "
            f"{marker(name, True)}; found {len(starts)} start and {len(ends)} end marker(s). Remove the stray "
            "markers (or all of them, to have the section inserted again)."
        )
    return starts[0], ends[0]


def wrap(name: str, content: str) -> str:
    """`content` between the section's markers, with a note that the section is generated."""
    note = "<!-- Generated by `sitges-retriever card update`: edit outside these markers, not inside. -->"
    return f"{marker(name)}\n{note}\n\n{content.strip()}\n\n{marker(name, True)}"


def put_section(card: Card, body: str, name: str, content: str) -> str:
    """`body` with section `name` replaced by `content` (from `wrap`), or inserted before the heading of a later part
    (`_LATER`; headings in fenced code do not count), else at the end."""
    content, newline = content.replace("\n", card.newline), card.newline
    span = section(body, name, card.source)
    if span is not None:
        return body[: span[0]] + content + body[span[1] :]
    headings = (m for m in _BLOCKS.finditer(body) if m.group(2) is not None)
    at = next((m.start() for m in headings if any(word in m.group(2).lower() for word in _LATER[name])), len(body))
    start, rest = body[:at], body[at:]
    start += newline if start and not start.endswith("\n") else ""
    lead = "" if not start or start.endswith(newline * 2) else newline
    return start + lead + content + newline + (newline if rest else "") + rest


def atomic_write(path: Path, text: str) -> None:
    """Write aside in the same folder, then `os.replace`: readers see the old card or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
