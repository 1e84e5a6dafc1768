"""The column roles the generic preprocessing_fn reads (a recipe.toml's ``[transform]`` table).

No TensorFlow here: ``tke init`` writes these, the preprocessing_fn reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from components.recipes.registry import TRANSFORM_TASK_KEY

# What spreadsheets, R and pandas write for a missing value (besides an empty cell).
MISSING_TOKENS = ('NA', 'N/A', 'n/a', 'NaN', 'nan', 'null', 'NULL', 'None', '?', '-')
# The recipe's task spec in Transform's custom_config (Recipe.transform_custom_config).
TASK_KEY = TRANSFORM_TASK_KEY
TRANSFORMED_SUFFIX = '_xf'
MISSING_SUFFIX = '_missing'
BUCKET_SUFFIX = '_bucket'


@dataclass(frozen=True)
class Roles:
    """Which raw columns feed the model, and how.

    Attributes:
      numeric: numbers: missing filled with the mean (plus a missing indicator where
        ``optional``), z-scored.
      log: numeric columns taken as log1p first (skewed, never negative).
      categorical: strings or integer codes through a vocabulary with OOV buckets.
      optional: columns with missing values: numeric ones get a ``<name>_missing`` 0/1 input.
      numbers_as_text: numeric columns whose cells also hold missing tokens (``NA`` ...):
        stored as strings in the schema (as CsvExampleGen reads them), parsed here.
      missing_tokens: cell values that mean "missing" in a numbers_as_text column.
      buckets: quantile buckets per numeric column for the wide part (0: none).
      vocab_size, oov_buckets: per categorical column.
    """

    numeric: Tuple[str, ...] = ()
    log: Tuple[str, ...] = ()
    categorical: Tuple[str, ...] = ()
    optional: Tuple[str, ...] = ()
    numbers_as_text: Tuple[str, ...] = ()
    missing_tokens: Tuple[str, ...] = MISSING_TOKENS
    buckets: int = 10
    vocab_size: int = 1000
    oov_buckets: int = 1
    excluded: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Optional[Dict[str, Any]]) -> 'Roles':
        config = dict(config or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(config) - known - {TASK_KEY, 'code_fingerprint'})
        if unknown:
            raise ValueError(f'unknown [transform] keys {unknown} for the generic preprocessing_fn; known: '
                             f'{sorted(known)}')
        values = {k: v for k, v in config.items() if k in known}
        for key in ('numeric', 'log', 'categorical', 'optional', 'numbers_as_text', 'missing_tokens'):
            if key in values:
                values[key] = tuple(values[key])
        roles = cls(**values)
        stray = sorted(set(roles.log) - set(roles.numeric)) + sorted(set(roles.numbers_as_text) - set(roles.numeric))
        if stray:
            raise ValueError(f'[transform] log / numbers_as_text columns {stray} are not numeric columns')
        if not roles.numeric and not roles.categorical:
            raise ValueError('[transform] names no numeric and no categorical column: the model would have no input')
        return roles

    def to_config(self) -> Dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def transformed(key: str) -> str:
    return f'{key}{TRANSFORMED_SUFFIX}'
