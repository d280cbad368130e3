"""The root of Agora's errors; the CLI prints them as one line, the API maps them to 4xx."""


class AgoraError(Exception):
    """Something Agora refuses or cannot do, with a message a user can act on."""
