"""Write evaluation results and training details into a model card, touching only what is generated: the front
matter's `model-index`, `metrics`, `base_model` and `dataset_size:`/`loss:` tags, and the body between the markers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCardData

from ..architecture import REPO_ID
from ..errors import CardError, DimensionError
from ..matryoshka import check_dim
from ..metrics import CANONICAL_METRICS, TASK_NAME, TASK_TYPE, dataset_name, dataset_type, display_name
from . import document
from .document import METRICS, TRAINING, Card
from .render import check_training, render_metrics, render_training, training_fields
from .results import Results, ResultsSource, identical_sizes, read_results

TEMPLATE = "template.md"
#: The front-matter keys `update_card` writes; every other key is the maintainer's.
GENERATED_KEYS = ("base_model", "tags", "metrics", "model-index")
PathLike = str | os.PathLike[str]
Training = Mapping[str, Any] | None


def update_card(
    card_path: PathLike = "model_card.md",
    results: ResultsSource | None = None,
    *,
    model_name: str | None = None,
    training: Training = None,
    from_template: bool = False,
) -> Path:
    """Write `results` (anything `read_results` takes) and/or `training` details into a card; return its path.

    The `model-index` gets exactly the given dimensions; impossible dimensions and results identical at every size
    are refused before the file is touched. A missing card starts from the template; `from_template=True` also
    replaces an existing card's prose by the template's, keeping its generated parts. The file is replaced
    atomically, and not at all when nothing changes.
    """
    path = Path(card_path)
    if results is None and training is None and not from_template:
        raise CardError("Nothing to write: give evaluation results, training details, or both.")
    checked = _allowed(read_results(results)) if results is not None else None
    details = check_training(training) if training is not None else None
    if model_name is not None and (not isinstance(model_name, str) or not model_name.strip()):
        raise CardError(f"model_name must be a non-empty string, not {model_name!r}.")
    old = document.read_card(path) if path.exists() else document.parse_card(template_text(), str(path))
    problems = document.type_problems(old.data)
    if problems:
        raise CardError(f"{old.source}: {' '.join(problems)} Fix the front matter; the card was not changed.")
    card = _on_template(old) if from_template else old

    data = dict(card.data)
    if details is not None:
        tags = card.data.get("tags") or []
        data.update(training_fields(details, [tags] if isinstance(tags, str) else tags))
    if checked is not None:
        name = model_name or _model_name(card.data)
        index = ModelCardData(model_name=name, eval_results=eval_results(checked)).to_dict()["model-index"]  # type: ignore[no-untyped-call]
        data = _merge(data, {"metrics": list(CANONICAL_METRICS), "model-index": index})
    line = document.comment_line(card) if data != card.data and not from_template else None
    if line is not None:
        raise CardError(
            f"{card.source}: line {line} holds a YAML comment, which rewriting the front matter would "
            "drop; move it into the body (as <!-- ... -->) or delete it. The card was not changed."
        )
    body = card.body
    if checked is not None:
        body = document.put_section(card, body, METRICS, render_metrics(checked))
    if details is not None:
        body = document.put_section(card, body, TRAINING, render_training(details))
    text = card.text(data, body)
    if data != card.data and document.parse_card(text, card.source).data != data:
        raise CardError(f"{card.source}: its front matter would not read back as written; the card was not changed.")
    if not path.exists() or text != old.text():
        document.atomic_write(path.resolve() if path.exists() else path, text)
    return path.resolve()


def write_folder_card(folder: PathLike, results: ResultsSource | None = None, *, training: Training = None) -> Path:
    """Write or update a model folder's card, its `README.md`; return its path. A missing README.md starts from
    the folder's `model_card.md` (moved into it) if any, else from the template; a refusal leaves the folder as is."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CardError(f"{folder} is not a model folder; write the model there first (save_model or train).")
    readme, legacy = folder / "README.md", folder / "model_card.md"
    if readme.exists() or not legacy.is_file():
        return update_card(readme, results, training=training)
    shutil.copy2(legacy, readme)
    try:
        update_card(readme, results, training=training)
    except BaseException:
        readme.unlink()
        raise
    legacy.unlink()
    return readme.resolve()


def eval_results(results: Results) -> list[EvalResult]:
    """`EvalResult`s for `results`, as sentence-transformers writes them."""
    return [
        EvalResult(
            task_type=TASK_TYPE,
            task_name=TASK_NAME,
            dataset_type=dataset_type(dim),
            dataset_name=dataset_name(dim),
            metric_type=metric,
            metric_value=value,
            metric_name=display_name(metric),
        )
        for dim, metrics in results.items()
        for metric, value in metrics.items()
    ]


def template_text() -> str:
    return resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")


def _allowed(results: Results) -> Results:
    refused = []
    for dim in results:
        try:
            check_dim(dim)
        except DimensionError as error:
            refused.append(str(error))
    refused += [
        f"{' and '.join(map(dataset_name, dims))} give identical results, a sign that they were measured "
        "on the same vectors; evaluate each dimension with its own truncate_dim."
        for dims in identical_sizes(results)
    ]
    if refused:
        raise CardError("Refusing to write these results, the card was not changed: " + " ".join(refused))
    return results


def _on_template(card: Card) -> Card:
    """The template's prose with `card`'s generated front-matter values and body sections."""
    template = document.parse_card(template_text(), card.source)
    data = dict(template.data)
    tags = card.data.get("tags") or []
    generated = [
        tag for tag in ([tags] if isinstance(tags, str) else tags) if tag.startswith(("dataset_size:", "loss:"))
    ]
    if generated:
        loss = any(tag.startswith("loss:") for tag in generated)
        data["tags"] = [t for t in data.get("tags", []) if not (loss and t.startswith("loss:"))] + generated
    data = _merge(data, {key: card.data[key] for key in GENERATED_KEYS if key in card.data and key != "tags"})
    body = template.body.replace("\n", card.newline)
    for name in (METRICS, TRAINING):
        span = document.section(card.body, name, card.source)
        if span is not None:
            body = document.put_section(card, body, name, card.body[span[0] : span[1]].replace("\r\n", "\n"))
    text = template.head + document.dump_yaml(data) + template.close
    return document.parse_card(text.replace("\n", card.newline) + body, card.source)


def _merge(data: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`data` with `new`'s values; keys it lacks go before `model-index` (the Hub keeps it last), else at the end."""
    out = {key: new.get(key, value) for key, value in data.items() if key != "model-index"}
    out.update({key: value for key, value in new.items() if key != "model-index"})
    if "model-index" in data or "model-index" in new:
        out["model-index"] = new.get("model-index", data.get("model-index"))
    return out


def _model_name(data: dict[str, Any]) -> str:
    index = data.get("model-index")
    if isinstance(index, list) and index and isinstance(index[0], dict) and isinstance(index[0].get("name"), str):
        return str(index[0]["name"])
    return REPO_ID.split("/")[-1]
