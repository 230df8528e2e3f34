"""Translation markers for strings translated later, at display time."""


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message
