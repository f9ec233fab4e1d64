"""The model card: read evaluation output (`read_results`), write it and the training details into a card
(`update_card`, `write_folder_card`), check a card (`check_card`). The prose lives once, in `template.md`."""

from ..metrics import CANONICAL_METRICS
from .checks import CardProblem, check_card
from .render import TRAINING_KEYS, framework_versions
from .results import Results, read_results
from .writer import update_card, write_folder_card

__all__ = ["CANONICAL_METRICS", "TRAINING_KEYS", "CardProblem", "Results", "check_card", "framework_versions"]
__all__ += ["read_results", "update_card", "write_folder_card"]
