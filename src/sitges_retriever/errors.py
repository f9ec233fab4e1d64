"""The package's exceptions: each message says what was wrong and how to fix it."""


class SitgesError(Exception):
    """Base class for errors the package raises on purpose."""


class DimensionError(SitgesError, ValueError):
    """An embedding size the model cannot honestly produce."""


class ModelFolderError(SitgesError, ValueError):
    """A model folder that is incomplete, unsafe (pickle weights) or not this architecture."""


class ModelNotAvailableError(SitgesError, OSError):
    """A model that cannot be found locally, in the cache or on the Hub."""


class DataError(SitgesError, ValueError):
    """Training or evaluation data that cannot be used as given."""


class CardError(SitgesError, ValueError):
    """A model card that cannot be read, or metrics that do not fit the model."""


class HubError(SitgesError, RuntimeError):
    """A Hub operation refused or failed, with what to do about it."""


class SearchIndexError(SitgesError, OSError):
    """A search index that is missing, damaged, busy, or built for another model."""
