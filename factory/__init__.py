"""GLoRe dataset factory: labelled data for when, where and how to refine reasoning."""


class GloreError(Exception):
    """An error the user can fix: printed as one line by the CLI, no traceback."""
