"""Write evaluation results and training details into a model card, touching only what is generated: the front
matter's `model-index`, `metrics`, `base_model` and `dataset_size:`/`loss:` tags, and the body between the markers.

A card splits as the Hub splits it (`REGEX_YAML_BLOCK`); the body is kept byte for byte outside the markers, and
the front matter is dumped again with PyYAML (the Hub's layout, as `RepoCard` does) only when a value changes."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCardData
from huggingface_hub.repocard import REGEX_YAML_BLOCK

from ..architecture import REPO_ID
from ..errors import CardError
from ..metrics import CANONICAL_METRICS, TASK_NAME, TASK_TYPE, dataset_name, dataset_type, display_name
from . import render
from .render import METRICS, TRAINING, marker
from .results import Results, ResultsSource, read_results, refusals

PathLike = str | os.PathLike[str]
Training = Mapping[str, Any] | None


def update_card(
    card_path: PathLike = "model_card.md",
    results: ResultsSource | None = None,
    *,
    model_name: str | None = None,
    training: Training = None,
    from_template: bool = False,
    each_size_measured: bool = False,
) -> Path:
    """Write `results` (anything `read_results` takes) and/or `training` details into a card; return its path.

    The `model-index` gets exactly the given dimensions. Impossible dimensions, and results identical at every
    size unless `each_size_measured` (the caller cut each size itself), are refused before the file is touched.
    A missing card starts from the template; `from_template=True` also replaces an existing card's prose by the
    template's, keeping its generated parts. The file is replaced atomically, and not at all when unchanged."""
    path = Path(card_path)
    if results is None and training is None and not from_template:
        raise CardError("Nothing to write: give evaluation results, training details, or both.")
    checked = _allowed(read_results(results), each_size_measured) if results is not None else None
    details = render.check_training(training) if training is not None else None
    if model_name is not None and (not isinstance(model_name, str) or not model_name.strip()):
        raise CardError(f"model_name must be a non-empty string, not {model_name!r}.")
    old = read_card(path) if path.exists() else parse_card(template_text(), str(path))
    problems = type_problems(old.data)
    if problems:
        raise CardError(f"{old.source}: {' '.join(problems)} Fix the front matter; the card was not changed.")
    card = _on_template(old) if from_template else old

    data = dict(card.data)
    if details is not None:
        tags = card.data.get("tags") or []
        data.update(render.training_fields(details, [tags] if isinstance(tags, str) else tags))
    if checked is not None:
        name = model_name or _model_name(card.data)
        index = ModelCardData(model_name=name, eval_results=eval_results(checked)).to_dict()["model-index"]  # type: ignore[no-untyped-call]
        data = _merge(data, {"metrics": list(CANONICAL_METRICS), "model-index": index})
    line = comment_line(card) if data != card.data and not from_template else None
    if line is not None:
        fix = "move it into the body (as <!-- ... -->) or delete it"
        raise CardError(f"{card.source}: line {line} holds a YAML comment, which a rewrite would drop; {fix}.")
    body = card.body
    if checked is not None:
        body = put_section(card, body, METRICS, render.render_metrics(checked))
    if details is not None:
        body = put_section(card, body, TRAINING, render.render_training(details))
    text = card.text(data, body)
    if data != card.data and parse_card(text, card.source).data != data:
        raise CardError(f"{card.source}: its front matter would not read back as written; the card was not changed.")
    if not path.exists() or text != old.text():
        atomic_write(path.resolve() if path.exists() else path, text)
    return path.resolve()


def write_folder_card(folder: PathLike, results: ResultsSource | None = None, **options: Any) -> Path:
    """Write or update a model folder's card, its `README.md`; return its path. A missing README.md starts from
    the folder's `model_card.md` (moved into it) if any, else from the template; a refusal leaves the folder as is.
    `options`: `update_card`'s (`training`, `each_size_measured`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CardError(f"{folder} is not a model folder; write the model there first (save_model or train).")
    readme, legacy = folder / "README.md", folder / "model_card.md"
    if readme.exists() or not legacy.is_file():
        return update_card(readme, results, **options)
    shutil.copy2(legacy, readme)
    try:
        update_card(readme, results, **options)
    except BaseException:
        readme.unlink()
        raise
    legacy.unlink()
    return readme.resolve()


def eval_results(results: Results) -> list[EvalResult]:
    """`EvalResult`s for `results`, as sentence-transformers writes them."""
    return [
        EvalResult(TASK_TYPE, dataset_type(dim), dataset_name(dim), m, value, TASK_NAME, metric_name=display_name(m))
        for dim, metrics in results.items()
        for m, value in metrics.items()
    ]


def template_text() -> str:
    return resources.files(__package__).joinpath("template.md").read_text(encoding="utf-8")


def _allowed(results: Results, each_size_measured: bool) -> Results:
    if found := [message for _, message in refusals(results, each_size_measured=each_size_measured)]:
        fix = "Evaluate each dimension with its own truncate_dim."
        raise CardError(f"Refusing to write these results, the card was not changed: {' '.join(found)} {fix}")
    return results


def _on_template(card: Card) -> Card:
    """The template's prose with `card`'s generated front-matter values and body sections."""
    template = parse_card(template_text(), card.source)
    data = dict(template.data)
    tags = card.data.get("tags") or []
    generated = [t for t in ([tags] if isinstance(tags, str) else tags) if t.startswith(("dataset_size:", "loss:"))]
    if generated:
        data["tags"] = render.with_tags(data.get("tags", []), generated)
    data = _merge(data, {key: card.data[key] for key in ("base_model", "metrics", "model-index") if key in card.data})
    body = template.body.replace("\n", card.newline)
    for name in (METRICS, TRAINING):
        span = section(card.body, name, card.source)
        if span is not None:
            body = put_section(card, body, name, card.body[span[0] : span[1]].replace("\r\n", "\n"))
    text = template.head + dump_yaml(data) + template.close
    return parse_card(text.replace("\n", card.newline) + body, card.source)


def _merge(data: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`data` with `new`'s values; keys it lacks go before `model-index` (the Hub keeps it last), else at the end."""
    out = {key: new.get(key, value) for key, value in data.items() if key != "model-index"}
    out.update({key: value for key, value in new.items() if key != "model-index"})
    if "model-index" in data or "model-index" in new:
        out["model-index"] = new.get("model-index", data.get("model-index"))
    return out


def _model_name(data: dict[str, Any]) -> str:
    index = data.get("model-index")
    first = index[0] if isinstance(index, list) and index and isinstance(index[0], dict) else {}
    return str(first["name"]) if isinstance(first.get("name"), str) else REPO_ID.split("/")[-1]


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
    except OSError as error:
        raise CardError(f"Cannot read the card {path}: {error.strerror or error}.") from error
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


def put_section(card: Card, body: str, name: str, content: str) -> str:
    """`body` with section `name` replaced by `content`, or inserted before a later part's heading (`_LATER`)."""
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
