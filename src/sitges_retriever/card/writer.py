"""Write evaluation results and training details into a model card, touching only what is generated.

Generated: the front matter's `model-index` and `metrics` (and, from training details, `base_model` and the
`dataset_size:`/`loss:` tags), and the body sections between the sitges-retriever markers. Everything else
stays byte for byte; the file is replaced atomically, and not at all when nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard

from ..architecture import REPO_ID
from ..errors import CardError, DimensionError
from ..matryoshka import check_dim
from . import frontmatter, sections
from .metrics import CANONICAL_METRICS, TASK_NAME, TASK_TYPE, dataset_name, dataset_type, display_name
from .results import Results, ResultsSource, read_results
from .tables import render_metrics
from .training_details import check_training, render_training, training_fields

TEMPLATE = "template.md"


def update_card(
    card_path: str | os.PathLike = "model_card.md",
    results: ResultsSource | None = None,
    *,
    model_name: str | None = None,
    training: Mapping[str, Any] | None = None,
) -> Path:
    """Write `results` (evaluator output in any form `read_results` takes) and/or `training` details into a card.

    The `model-index` gets exactly the given dimensions, largest first, each with the card's 15 cosine
    metrics; results for dimensions no longer given disappear. Dimensions larger than the model's output
    or not trained with MatryoshkaLoss are refused before the file is touched. A card that does not exist
    yet starts from the package's template. Returns the card's path.
    """
    if results is None and training is None:
        raise CardError("Nothing to write: give evaluation results, training details, or both.")
    checked = _allowed(read_results(results)) if results is not None else None
    details = check_training(training) if training is not None else None
    path = Path(card_path)
    if path.exists():
        path = path.resolve()
        card = frontmatter.read_card(path)
    else:
        card = frontmatter.parse_card(template_text(), str(path))

    fields = dict(training_fields(details, card.data.get("tags"))) if details else {}
    if checked is not None:
        fields.update(metrics=list(CANONICAL_METRICS), model_name=model_name or _model_name(card.data),
                      eval_results=eval_results(checked))
    generated = frontmatter.generated_blocks(card.newline, **fields) if fields else {}
    new_blocks = {key: text for key, text in generated.items() if yaml.safe_load(text)[key] != card.data.get(key)}
    yaml_text = frontmatter.join_blocks(
        frontmatter.replace_keys(frontmatter.split_blocks(card), new_blocks), card.newline
    )

    body = card.body
    if checked is not None:
        body = sections.put_section(body, sections.METRICS, render_metrics(checked), after=("Evaluation",),
                                    insert_before=("Training", "Citation", "BibTeX"), source=card.source,
                                    newline=card.newline)
    if details is not None:
        body = sections.put_section(body, sections.TRAINING, render_training(details), after=("Training",),
                                    insert_before=("Citation", "BibTeX", "Framework"), source=card.source,
                                    newline=card.newline)

    text = card.with_parts(yaml_text, body)
    _verify(text, card, set(new_blocks), checked)
    if not path.exists() or text != card.with_parts(card.yaml_text, card.body):
        _atomic_write(path, text)
    return path


def eval_results(results: Results) -> list[EvalResult]:
    """huggingface_hub `EvalResult`s for `results`, in the shape sentence-transformers writes."""
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
    """The package's starting card: the project's prose, with empty generated sections."""
    return resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")


def _allowed(results: Results) -> Results:
    refused = []
    for dim in results:
        try:
            check_dim(dim)
        except DimensionError as error:
            refused.append(str(error))
    if refused:
        raise CardError("Refusing to write these results, the card was not changed: " + " ".join(refused))
    return results


def _model_name(data: dict[str, Any]) -> str:
    index = data.get("model-index")
    if isinstance(index, list) and index and isinstance(index[0], dict) and isinstance(index[0].get("name"), str):
        return index[0]["name"]
    return REPO_ID.split("/")[-1]


def _verify(text: str, old: frontmatter.CardText, replaced: set[str], results: Results | None) -> None:
    """Refuse to write a card whose other keys changed or whose metrics do not read back through huggingface_hub."""
    new = frontmatter.parse_card(text, old.source)
    keys = (set(old.data) | set(new.data)) - replaced
    changed = [key for key in keys if old.data.get(key) != new.data.get(key)]
    if changed:
        raise CardError(f"{old.source}: updating would change {', '.join(sorted(map(str, changed)))}; not written.")
    if results is None:
        return
    try:
        loaded = ModelCard(text).data.eval_results or []
    except ValueError as error:
        raise CardError(
            f"{old.source}: the updated card would not load with huggingface_hub ({error}); not written."
        ) from error
    read_back: dict[int, dict[str, float]] = {}
    for result in loaded:
        dim = int(result.dataset_type.removeprefix("dim_"))
        read_back.setdefault(dim, {})[result.metric_type] = result.metric_value
    if read_back != results or list(read_back) != list(results):
        raise CardError(f"{old.source}: the metrics would not read back as written; not written.")


def _atomic_write(path: Path, text: str) -> None:
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
