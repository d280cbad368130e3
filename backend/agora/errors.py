"""The root of Agora's errors; the CLI prints them as one line, the API maps them to 4xx.

Each module turns the failures of the library it wraps (pydantic, requests, SQLAlchemy,
Alembic, json) into one of these where it calls it, with a message that says what is
wrong and what to do; only the CLI's edge prints them.
"""


class AgoraError(Exception):
    """Something Agora refuses or cannot do, with a message a user can act on."""


class ConfigError(AgoraError):
    """A setting (AGORA_* or .env) is invalid."""


class ChainError(AgoraError):
    """The node did not answer, or answered with an error."""


class DeploymentError(AgoraError):
    """The deployment file is missing, unreadable, or does not describe the chain."""


class DatabaseError(AgoraError):
    """The database cannot be opened or is at a schema this version does not know."""
