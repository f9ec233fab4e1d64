"""The model card: read evaluation output, write the card's metrics and training details, check a card.

- `read_results(source)`: evaluator output (dict, CSV file or folder, JSON) -> {dim: the 15 cosine metrics}.
- `update_card(card_path, results, *, model_name=None, training=None, from_template=False)`: regenerate the
  metrics (front matter `model-index` and `metrics`, body tables) and the training details; the rest is kept.
- `write_folder_card(folder, results, *, training=None)`: the same for a model folder's `README.md`.
- `check_card(card_path)`: the card's problems (impossible or duplicated dimensions, unknown metrics, ...).
- `framework_versions()`: the installed library versions, for the training details' `framework_versions`.
The project's prose lives once, in the package's `template.md`; the root `model_card.md` is rendered from it.
"""

from ..metrics import CANONICAL_METRICS
from .checks import CardProblem, check_card
from .render import TRAINING_KEYS, framework_versions
from .results import Results, read_results
from .writer import update_card, write_folder_card

__all__ = ["CANONICAL_METRICS", "TRAINING_KEYS", "CardProblem", "Results", "check_card", "framework_versions"]
__all__ += ["read_results", "update_card", "write_folder_card"]
