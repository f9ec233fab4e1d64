"""Fine-tuning, one module per job: `presets` (recipes, `--set` parsing), `mining` (hard negatives), `losses`,
`run` (`train()`), `card_details` (what a run tells the card)."""

from ..errors import PresetError
from .losses import LOSSES
from .presets import DEFAULT, PRESETS, PUBLISHED, Preset, get_preset, parse_settings
from .run import DEFAULT_OUTPUT, TrainingResult, train

__all__ = [
    "DEFAULT",
    "DEFAULT_OUTPUT",
    "LOSSES",
    "PRESETS",
    "PUBLISHED",
    "Preset",
    "PresetError",
    "TrainingResult",
    "get_preset",
    "parse_settings",
    "train",
]
