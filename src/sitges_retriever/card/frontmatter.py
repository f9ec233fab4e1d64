"""The card's YAML front matter: parse it (errors name the file line), and replace single top-level keys.

No installed library rewrites one YAML key and leaves the others byte for byte (PyYAML and `ModelCard`
dump the whole block again), so the block is cut into top-level keys here, and every cut is checked
against the full parse before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import ModelCardData
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from ..errors import CardError

_LINES = re.compile(r"[^\n]*\n|[^\n]+$")
_EXAMPLE = "---\nlibrary_name: sentence-transformers\n---"


@dataclass(frozen=True)
class CardText:
    """A card split the way the Hub splits it: opening `---`, YAML, closing `---`, Markdown body."""

    source: str
    head: str
    yaml_text: str
    close: str
    body: str
    data: dict[str, Any]
    newline: str

    def with_parts(self, yaml_text: str, body: str) -> str:
        return self.head + yaml_text + self.close + body


@dataclass(frozen=True)
class Block:
    """A top-level key with its value lines (key None: blank or comment lines between keys)."""

    key: str | None
    text: str


def read_card(path: str | Path) -> CardText:
    """Read and parse a card file; a missing file, bad encoding or broken front matter raises `CardError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as error:
        raise CardError(f"No card at {path}.") from error
    except OSError as error:
        raise CardError(f"Cannot read the card {path}: {error}.") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CardError(f"{path} is not UTF-8 text (byte {error.start}); save the card as UTF-8.") from error
    return parse_card(text, str(path))


def parse_card(text: str, source: str = "the card") -> CardText:
    """Split `text` into front matter and body, as `huggingface_hub.ModelCard` does, and parse the YAML."""
    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        if text.lstrip().startswith("---"):
            raise CardError(
                f"{source}: the front matter opened by '---' has no closing '---' line (or is empty). "
                f"End the YAML block with a line '---', e.g.\n{_EXAMPLE}"
            )
        raise CardError(
            f"{source} has no YAML front matter: a Hub model card starts with a '---' line, the YAML metadata "
            f"and a closing '---' line, e.g.\n{_EXAMPLE}"
        )
    head, yaml_text, close = match.group(1), match.group(2), match.group(3)
    try:
        data = yaml.safe_load(yaml_text)
    except yaml.YAMLError as error:
        problem = _describe_yaml_error(error, head.count("\n"))
        raise CardError(f"{source}: {problem} The card was not changed.") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CardError(
            f"{source}: the front matter must be a YAML mapping (key: value lines), not a {type(data).__name__}."
        )
    newline = "\r\n" if head.endswith("\r\n") else "\n"
    return CardText(source, head, yaml_text, close, text[match.end() :], data, newline)


def _describe_yaml_error(error: yaml.YAMLError, lines_before: int) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f"the YAML front matter is broken: {problem}."
    line = lines_before + mark.line + 1
    return f"the YAML front matter is broken at line {line}, column {mark.column + 1}: {problem}."


def split_blocks(card: CardText) -> list[Block]:
    """Cut the front matter into top-level key blocks; checked to re-parse to exactly the card's data."""
    return _split(card.yaml_text + card.newline if card.yaml_text else "", card.data, card.source)


def join_blocks(blocks: list[Block], newline: str) -> str:
    """The front matter text of `blocks` (without the newline that the closing '---' line starts with)."""
    text = "".join(block.text for block in blocks)
    return text.removesuffix(newline) if text.endswith(newline) else text


def replace_keys(blocks: list[Block], new: dict[str, str]) -> list[Block]:
    """Replace the blocks of the keys in `new`; add missing keys before `model-index` (kept last) or at the end."""
    out = [Block(block.key, new[block.key]) if block.key in new else block for block in blocks]
    present = {block.key for block in blocks}
    for key, text in new.items():
        if key in present:
            continue
        index = next((i for i, block in enumerate(out) if block.key == "model-index"), len(out))
        out.insert(len(out) if key == "model-index" else index, Block(key, text))
    return out


def generated_blocks(newline: str, **fields: Any) -> dict[str, str]:
    """The YAML of `fields` as huggingface_hub writes it (`ModelCardData.to_yaml`), one text per top-level key."""
    text = ModelCardData(**fields).to_yaml(line_break=newline) + newline
    return {block.key: block.text for block in _split(text, yaml.safe_load(text), "generated YAML") if block.key}


def _split(text: str, data: dict[str, Any], source: str) -> list[Block]:
    blocks: list[Block] = []
    pending = ""
    for line in _LINES.findall(text):
        if not line.strip() or line.startswith("#"):
            pending += line
        elif line[0] in " \t-":
            if not blocks or blocks[-1].key is None:
                raise _layout_error(source, f"the line {line.strip()!r} continues no key")
            blocks[-1] = Block(blocks[-1].key, blocks[-1].text + pending + line)
            pending = ""
        else:
            if pending:
                blocks.append(Block(None, pending))
                pending = ""
            blocks.append(Block("", line))
    if pending:
        blocks.append(Block(None, pending))
    keyed = []
    for block in blocks:
        if block.key is None:
            keyed.append(block)
            continue
        try:
            parsed = yaml.safe_load(block.text)
        except yaml.YAMLError:
            parsed = None
        if not isinstance(parsed, dict) or len(parsed) != 1:
            first = block.text.splitlines()[0].strip()
            raise _layout_error(source, f"the lines from {first!r} do not parse on their own")
        keyed.append(Block(str(next(iter(parsed))), block.text))
        key = next(iter(parsed))
        if key not in data or data[key] != parsed[key]:
            raise _layout_error(source, f"the key {key!r} reads differently on its own")
    keys = [block.key for block in keyed if block.key is not None]
    if keys != [str(key) for key in data] or len(set(keys)) != len(keys):
        raise _layout_error(source, "its top-level keys could not be told apart (a key is repeated or not at column 0)")
    return keyed


def _layout_error(source: str, reason: str) -> CardError:
    return CardError(
        f"{source}: cannot edit the front matter key by key: {reason}. Write it in YAML block style "
        "(each top-level 'key:' at the start of a line, its value on that line or on indented lines below, "
        "no anchors shared between keys)."
    )
