"""The exceptions that carry a one-line message for the person at the keyboard."""


class VAEError(Exception):
    """An error caused by input or environment rather than by a bug.

    The command line prints its message as a single line and exits non-zero,
    without a traceback.
    """


class ConfigError(VAEError, ValueError):
    """A configuration value out of range, or an unknown configuration key."""


class DataError(VAEError):
    """Missing, malformed or corrupted data files."""


class CheckpointError(VAEError):
    """A run directory that is missing, incomplete or corrupted."""


class TrainingError(VAEError):
    """Training that went wrong: a non-finite loss, or a loss that diverged."""
