"""The exception that carries a one-line message for the person at the keyboard."""


class VAEError(Exception):
    """An error caused by input or environment rather than by a bug.

    The command line prints its message as a single line and exits non-zero,
    without a traceback.
    """


class DataError(VAEError):
    """Missing, malformed or corrupted data files."""


class CheckpointError(VAEError):
    """A run directory that is missing, incomplete or corrupted."""
