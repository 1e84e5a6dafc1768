"""What ``tke run`` checks before Transform, run for real on a recipe folder and a data folder.

The data check (``tfx_keras_estimator.pipelines.data``), the fast CsvExampleGen executor with the ``CsvOptions``
create_pipeline derives (the schema's types, the recipe's missing tokens), TFDV's statistics
of each written split (StatisticsGen's) validated against the schema (ExampleValidator's
``validate_statistics``), read as the anomaly gate reads them. No pipeline around them: a
few seconds a table, so that many awkward tables can be checked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import tensorflow_data_validation as tfdv
from apache_beam.options.pipeline_options import PipelineOptions
from google.protobuf import json_format
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.proto import example_gen_pb2

from tfx_keras_estimator.components.anomaly_gate import describe
from tfx_keras_estimator.components.fast_example_gen import Executor
from tfx_keras_estimator.components.fast_example_gen.options import CsvOptions
from tfx_keras_estimator.components.recipes import load_recipe
from tfx_keras_estimator.pipelines.data import load_schema, validate_data_dir

SPLITS = (('train', 2), ('eval', 1))


def write_examples(data_dir: Path, out: Path, options: CsvOptions) -> Path:
    """The fast ExampleGen executor over ``data_dir`` (train:eval 2:1), as the pipeline runs it."""
    split_config = tfx.proto.SplitConfig(splits=[tfx.proto.SplitConfig.Split(name=n, hash_buckets=b)
                                                 for n, b in SPLITS])
    examples = tfx.types.standard_artifacts.Examples()
    examples.uri = str(out)
    Executor().Do({}, {'examples': [examples]}, {
        'input_base': str(data_dir),
        'input_config': json_format.MessageToJson(tfx.proto.Input(splits=[
            tfx.proto.Input.Split(name='single_split', pattern='*.csv')])),
        'output_config': json_format.MessageToJson(tfx.proto.Output(split_config=split_config)),
        'custom_config': json_format.MessageToJson(options.to_custom_config()),
        'output_data_format': example_gen_pb2.FORMAT_TF_EXAMPLE,
        'output_file_format': example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    })
    return out


def anomalies_of(recipe_folder: Path, work: Path, data_dir: Optional[Path] = None) -> List[str]:
    """The anomaly gate's lines (error severity) for ``data_dir`` (default: the recipe's data);
    a DataError from the data check propagates."""
    recipe = load_recipe(str(recipe_folder))
    schema = load_schema(recipe.schema_path)
    data_dir = data_dir or recipe.data_dir
    validate_data_dir(data_dir, recipe, schema)
    out = write_examples(data_dir, work / 'examples', CsvOptions.from_schema(schema, recipe.missing_tokens))
    options = PipelineOptions(['--direct_running_mode=in_memory', '--direct_num_workers=1'])
    found = {}
    for split, _ in SPLITS:
        stats = tfdv.generate_statistics_from_tfrecord(os.path.join(out, f'Split-{split}', '*'),
                                                       pipeline_options=options)
        found[split] = tfdv.validate_statistics(stats, schema)
    return describe(found, anomalies_pb2.AnomalyInfo.ERROR)
