"""Errors that the ``medtalk`` command reports as one line and exit code 2."""


class MedtalkError(Exception):
    """A problem with the user's input or set-up; its message is one line that names it."""


class AudioError(MedtalkError):
    """An audio file that cannot be used: unreadable, empty, truncated, not audio, NaN/inf."""


class CheckpointError(MedtalkError):
    """A checkpoint that is missing, unreadable or does not match the model configuration."""


class ModelNotFoundError(MedtalkError):
    """Pretrained weights that are not on this machine; the message says what to download."""
