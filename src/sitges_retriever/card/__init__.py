"""The model card: read evaluation output, write the card's metrics and training details, check a card.

- `read_results(source)`: evaluator output (dict, CSV file or folder, JSON) -> {dim: the 15 cosine metrics}.
- `update_card(card_path, results, *, model_name=None, training=None)`: regenerate the metrics (front matter
  `model-index` and `metrics`, body tables) and the training details; everything else is kept byte for byte.
- `check_card(card_path)`: the card's problems (impossible or duplicated dimensions, unknown metrics, ...).
"""

from .checks import CardProblem, check_card
from .metrics import CANONICAL_METRICS
from .results import Results, read_results
from .training_details import TRAINING_KEYS
from .writer import update_card

__all__ = ["CANONICAL_METRICS", "TRAINING_KEYS", "CardProblem", "Results", "check_card", "read_results", "update_card"]
