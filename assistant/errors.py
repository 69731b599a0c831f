"""Domain errors. Each message is one sentence a user can act on; the CLI and UI print it as is."""


class AssistantError(Exception):
    """Base class for every error the user should see as a plain message, not a traceback."""


class CorpusError(AssistantError):
    """The corpus directory or one of its files cannot be read or parsed."""


class IndexStoreError(AssistantError):
    """The on-disk index cannot be read, written or trusted."""


class ModelError(AssistantError):
    """A model cannot be found or loaded."""


class UnknownQuestionError(AssistantError):
    """A question id that the corpus does not contain."""


class InvalidInputError(AssistantError):
    """User input that cannot be processed (empty, too long, malformed)."""
