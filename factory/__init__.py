"""GLoRe dataset factory: labelled data for when, where and how to refine reasoning."""

import hashlib


class GloreError(Exception):
    """An error the user can fix: printed as one line by the CLI, no traceback."""


def first_line(error: BaseException) -> str:
    """The gist of a library's error, for a one-line message."""
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


def from_pretrained(auto_class, path, *, what: str = "a model", **kwargs):
    """`auto_class.from_pretrained(path, **kwargs)`, or a one-line GloreError naming the folder:
    whatever transformers raises for a folder it cannot load (OSError, ValueError, or a config
    field of the wrong type), the folder is at fault."""
    try:
        return auto_class.from_pretrained(path, **kwargs)
    except Exception as error:
        raise GloreError(f"{path}: cannot load {what} ({first_line(error)})") from error


def seeded_hash(key: str, seed: int) -> int:
    """A 64-bit hash of `key` under `seed`: a random but reproducible order or choice, whatever
    the order of the rows (sql/macros.sql's seeded_hash does the same in SQL)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big")
