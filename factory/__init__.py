"""GLoRe dataset factory: labelled data for when, where and how to refine reasoning."""


class GloreError(Exception):
    """An error the user can fix: printed as one line by the CLI, no traceback."""


def first_line(error: BaseException) -> str:
    """The gist of a library's error, for a one-line message."""
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__
