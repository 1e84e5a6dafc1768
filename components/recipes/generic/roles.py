"""The column roles the generic preprocessing_fn reads (a recipe.toml's ``[transform]`` table).

No TensorFlow here: ``tke init`` writes these, the preprocessing_fn reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from tfx_keras_estimator.components.recipes.registry import TRANSFORM_TASK_KEY

# What spreadsheets, R and pandas write for a missing value (besides an empty cell).
MISSING_TOKENS = ('NA', 'N/A', 'n/a', 'NaN', 'nan', 'null', 'NULL', 'None', '?', '-')
# The recipe's task spec in Transform's custom_config (Recipe.transform_custom_config).
TASK_KEY = TRANSFORM_TASK_KEY
TRANSFORMED_SUFFIX = '_xf'
MISSING_SUFFIX = '_missing'
BUCKET_SUFFIX = '_bucket'
# A crossed feature's name joins its columns' names: ['a', 'b'] -> 'a_x_b'.
CROSS_SEPARATOR = '_x_'


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
      vocab_size, oov_buckets: per categorical column, and per cross.
      crosses: groups of columns crossed into one categorical feature each (``a_x_b``):
        a categorical column takes part with its value, a numeric one with its quantile
        bucket (so ``buckets`` must be above 0), missing as a value of its own; the
        combinations seen in training go through a vocabulary like a categorical column.
        None by default: which interactions matter is the user's knowledge of the data.
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
    crosses: Tuple[Tuple[str, ...], ...] = ()
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
        if 'crosses' in values:
            values['crosses'] = tuple(tuple(c) if isinstance(c, (list, tuple)) else c for c in values['crosses'])
        roles = cls(**values)
        stray = sorted(set(roles.log) - set(roles.numeric)) + sorted(set(roles.numbers_as_text) - set(roles.numeric))
        if stray:
            raise ValueError(f'[transform] log / numbers_as_text columns {stray} are not numeric columns')
        if not roles.numeric and not roles.categorical:
            raise ValueError('[transform] names no numeric and no categorical column: the model would have no input')
        roles.check_crosses()
        return roles

    def check_crosses(self) -> None:
        inputs = set(self.numeric) | set(self.categorical)
        for cross in self.crosses:
            if not isinstance(cross, tuple) or len(cross) < 2 or len(set(cross)) < len(cross):
                raise ValueError(f'[transform] crosses: {cross!r} must be a list of two or more different columns, '
                                 'e.g. crosses = [["a", "b"]]')
            stray = [c for c in cross if c not in inputs]
            if stray:
                raise ValueError(f'[transform] crosses: {stray} in {list(cross)} are not numeric or categorical '
                                 'columns')
            if self.buckets <= 0 and any(c in self.numeric for c in cross):
                raise ValueError(f'[transform] crosses: {list(cross)} crosses numeric columns, which take part by '
                                 'their quantile bucket: set buckets above 0')
        names = [cross_name(c) for c in self.crosses]
        clashes = sorted({n for n in names if n in inputs or names.count(n) > 1})
        if clashes:
            raise ValueError(f'[transform] crosses: {clashes} named twice, or the name of a column too')

    def to_config(self) -> Dict[str, Any]:
        return {k: [list(c) if isinstance(c, tuple) else c for c in v] if isinstance(v, tuple) else v
                for k, v in self.__dict__.items()}


def transformed(key: str) -> str:
    return f'{key}{TRANSFORMED_SUFFIX}'


def cross_name(columns: Tuple[str, ...]) -> str:
    return CROSS_SEPARATOR.join(columns)
