"""How ExampleGen reads a recipe's CSV: column types from the schema, missing-value tokens.

CsvExampleGen types each column by what the data holds, so a numeric column with one
``NA`` (as R and pandas write a missing number) becomes a text column, and a column that
is entirely empty in a new batch has no type at all: the served model's signature then
depends on how this batch spelled its missing values. With these options the fast
executor types every column the schema names by the schema (unless a cell needs a higher
type, a word in a number column: then the column is typed as CsvExampleGen would type it,
and ExampleValidator reports it against the schema), and turns blank cells (of
any column) and the missing tokens of a number column into missing values before any
example is written, so TFDV's statistics, Transform and the serving signature all see numbers.

They travel in ExampleGen's ``custom_config`` (a ``CustomConfig`` proto holding a
``Struct``), part of the component's cache key like its other parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from google.protobuf import json_format, struct_pb2
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.proto import example_gen_pb2
from tfx_bsl.coders.csv_decoder import ColumnType

_TYPES = {schema_pb2.INT: ColumnType.INT, schema_pb2.FLOAT: ColumnType.FLOAT, schema_pb2.BYTES: ColumnType.STRING}
_KEYS = ('column_types', 'missing_tokens')


@dataclass(frozen=True)
class CsvOptions:
    """``column_types``: column -> 'INT' | 'FLOAT' | 'STRING'; ``missing_tokens``: cells of a
    number column that mean "missing" (besides blank ones)."""

    column_types: Tuple[Tuple[str, str], ...] = ()
    missing_tokens: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, kind in self.column_types:
            if kind not in ColumnType.__members__ or kind == 'UNKNOWN':
                raise ValueError(f'column {name!r}: type {kind!r} is not INT, FLOAT or STRING')

    @classmethod
    def from_schema(cls, schema: schema_pb2.Schema, missing_tokens: Sequence[str] = ()) -> 'CsvOptions':
        """Every schema feature of a CSV type, typed as the schema types it."""
        return cls(column_types=tuple((f.name, _TYPES[f.type].name) for f in schema.feature if f.type in _TYPES),
                   missing_tokens=tuple(missing_tokens))

    @property
    def types(self) -> Dict[str, ColumnType]:
        return {name: ColumnType[kind] for name, kind in self.column_types}

    def to_custom_config(self) -> example_gen_pb2.CustomConfig:
        struct = struct_pb2.Struct()
        struct.update({'column_types': dict(self.column_types), 'missing_tokens': list(self.missing_tokens)})
        config = example_gen_pb2.CustomConfig()
        config.custom_config.Pack(struct)
        return config

    @classmethod
    def from_custom_config(cls, value: Any) -> Optional['CsvOptions']:
        """From ExampleGen's ``custom_config`` execution property (JSON text, a proto, or None)."""
        if value in (None, ''):
            return None
        config = value if isinstance(value, example_gen_pb2.CustomConfig) else json_format.Parse(
            value if isinstance(value, str) else json.dumps(value), example_gen_pb2.CustomConfig())
        if not config.HasField('custom_config'):
            return None
        struct = struct_pb2.Struct()
        if not config.custom_config.Unpack(struct):
            raise ValueError(f'fast CSV ExampleGen: custom_config holds a {config.custom_config.type_url}, not the '
                             'Struct of CsvOptions.to_custom_config')
        raw: Mapping[str, Any] = json_format.MessageToDict(struct)
        unknown = sorted(set(raw) - set(_KEYS))
        if unknown:
            raise ValueError(f'fast CSV ExampleGen: unknown custom_config keys {unknown}; known: {list(_KEYS)}')
        return cls(column_types=tuple(sorted(raw.get('column_types', {}).items())),
                   missing_tokens=tuple(raw.get('missing_tokens', ())))
