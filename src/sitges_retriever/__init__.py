"""sitges-retriever: Catalan retrieval embeddings for the Sitges town hall's procedures (tràmits).

Questions and procedure texts share one 384-d space; embeddings can be cut to 256, 128 or 64 values.
"""

from importlib.metadata import PackageNotFoundError, version

from .architecture import MATRYOSHKA_DIMS, build_model
from .card import check_card, update_card
from .evaluation import evaluate
from .hub import load, push_to_hub
from .index import Index
from .matryoshka import truncate
from .persistence import save_model
from .search import search
from .training import train

__all__ = [
    "MATRYOSHKA_DIMS",
    "Index",
    "build_model",
    "check_card",
    "evaluate",
    "load",
    "push_to_hub",
    "save_model",
    "search",
    "train",
    "truncate",
    "update_card",
]

try:
    __version__ = version("sitges-retriever")  # pyproject.toml is the one place the version is written
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
