"""The package's exceptions: each message says what was wrong and how to fix it.

Each subclasses `SitgesError` and, where it fits, the built-in a caller would catch (ValueError, OSError, ...).
"""


class SitgesError(Exception):
    """Base class for errors the package raises on purpose."""


class DimensionError(SitgesError, ValueError):
    """An embedding size the model cannot honestly produce."""


class ModelFolderError(SitgesError, ValueError):
    """A model folder that is incomplete, unsafe (pickle weights), not this architecture, or given a Hub-only option."""


class ModelNotAvailableError(SitgesError, OSError):
    """A model that cannot be found locally, in the cache or on the Hub."""


class DataError(SitgesError, ValueError):
    """Training or evaluation data that cannot be used as given."""


class CardError(SitgesError, ValueError):
    """A model card that cannot be read, or metrics that do not fit the model."""


class HubError(SitgesError, RuntimeError):
    """A Hub operation refused or failed, with what to do about it."""


class PresetError(SitgesError, ValueError):
    """An unknown preset, or an override that does not fit it."""


class BaseModelError(SitgesError, ValueError):
    """A base model that does not fit the architecture (e.g. another hidden size)."""


class EmbeddingTypeError(SitgesError, TypeError):
    """Embeddings of a type the function cannot cut (not a numpy array or torch tensor)."""


class RetrievalError(SitgesError, ValueError):
    """Scores or settings for keyword search and fusion that do not fit together."""


class MissingDependencyError(SitgesError, ImportError):
    """An optional package a feature needs is not installed."""


class SearchIndexError(SitgesError, OSError):
    """A search index that is missing, damaged, busy, or built for another model."""
