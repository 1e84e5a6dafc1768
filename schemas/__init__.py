"""The built-in recipes' schemas (package data): ``<recipe>.pbtxt``, TFMD text protos of the raw data.

Found through the package (``importlib.resources``), so they are where the installed package
is, in a wheel, an editable install or the pipeline image alike.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def schema_path(recipe: str) -> Path:
    """The built-in recipe's schema file."""
    folder = importlib.resources.files(__name__)
    if not isinstance(folder, Path):
        raise ValueError(f'package {__name__!r} is not installed as plain files ({folder!r}); TFX reads schemas '
                         'by path')
    path = folder / f'{recipe}.pbtxt'
    if not path.is_file():
        raise ValueError(f'no built-in schema for recipe {recipe!r} in {folder}')
    return path
