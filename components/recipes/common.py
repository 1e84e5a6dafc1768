"""Naming shared by the recipes (no TensorFlow here: the CLI lists recipes without it)."""


def transformed_name(key: str) -> str:
    """Transformed features carry an ``_xf`` suffix so raw and transformed never clash."""
    return f'{key}_xf'
