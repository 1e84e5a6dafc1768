"""Rows to examples: what both of the fast ExampleGen's paths (this process, ``executor``; a Beam
job, ``beam_job``) do to each CSV file, so that both write the same examples in the same splits."""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import tensorflow as tf

from tfx_keras_estimator.components.fast_example_gen import reader
from tfx_keras_estimator.components.fast_example_gen.encoder import CanonicalExampleEncoder

FILE_NAME = 'data_tfrecord'


@dataclasses.dataclass(frozen=True)
class ConvertJob:
    """What every process of pass 2 needs (picklable: it travels to the spawned ones)."""

    column_names: List[str]
    column_types: Dict[str, reader.ColumnType]
    block_size: int
    buckets: Optional[List[int]]
    partition_feature_name: Optional[str]
    split_uris: List[str]
    num_shards: List[int]
    slots: int
    # Rows per shard file before the next is opened (per split).
    shard_rows: Optional[List[int]] = None
    # CsvOptions' tokens where a schema typed the columns (blank cells are then missing too).
    missing_tokens: Optional[Sequence[str]] = None


def partition_keys(name: str, types_: Dict[str, reader.ColumnType]) -> Callable[[Dict[str, Any]], List[bytes]]:
    """For ``partition_feature_name``: each row's key, that feature's deterministic serialization.

    The checks are ExampleGen's (``_GeneratePartitionKey``), made once per column instead of per row.
    """
    if name not in types_:
        raise ValueError(f'partition_feature_name {name!r} is not a column of the CSV (columns: {sorted(types_)})')
    if types_[name] == reader.ColumnType.UNKNOWN:
        raise ValueError(f'partition_feature_name {name!r}: the column has no value in any row')
    if types_[name] == reader.ColumnType.FLOAT:
        raise ValueError(f'partition_feature_name {name!r} is a float column; only integer and text columns '
                         'can partition')

    def keys(single: Dict[str, Any]) -> List[bytes]:
        return [tf.train.Example.FromString(one).features.feature[name].SerializeToString(deterministic=True)
                for one in single[name].to_pylist()]
    return keys


def file_records(job: ConvertJob, path: str) -> Iterator[Tuple[List[bytes], Optional[List[int]]]]:
    """One CSV file's rows as serialized tf.Examples, a block at a time, each with its split's index
    (None: one split). The rows-to-examples rules of both paths: this process's and the Beam job's."""
    buckets = job.buckets
    total = buckets[-1] if buckets else 1
    keys_of = partition_keys(job.partition_feature_name, job.column_types) if job.partition_feature_name else None
    encoder = CanonicalExampleEncoder()
    sha256 = hashlib.sha256
    from_bytes = int.from_bytes
    for batch in reader.iter_blocks(path, job.column_names, job.block_size):
        records, single = encoder.encode(reader.feature_columns(batch, job.column_types, job.missing_tokens))
        if buckets is None:
            yield records, None
            continue
        keys = keys_of(single) if keys_of else records
        yield records, [bisect.bisect(buckets, from_bytes(sha256(key).digest(), 'big') % total) for key in keys]
