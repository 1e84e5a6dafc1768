"""FnArgs built as the Trainer executor builds them, over a Transform output's artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict

from tfx.components.trainer import fn_args_utils  # builds FnArgs as the Trainer executor does
from tfx.types import artifact_utils, standard_artifacts

from tfx_keras_estimator.components.trainer.config import TrainerConfig


def trainer_fn_args(inputs: Dict[str, str], work: Path, steps: int, config: TrainerConfig, base_model=None,
                    eval_steps: int = 2):
    """``inputs``: ``examples_uri``, ``raw_examples_uri`` and ``transform_graph_uri``
    (tests/components/trainer/conftest.py); the raw examples where ``config.raw_examples``."""
    examples = standard_artifacts.Examples()
    examples.uri = inputs['raw_examples_uri' if config.raw_examples else 'examples_uri']
    examples.split_names = artifact_utils.encode_split_names(['train', 'eval'])
    graph = standard_artifacts.TransformGraph()
    graph.uri = inputs['transform_graph_uri']
    fn_args = fn_args_utils.get_common_fn_args(
        {'examples': [examples], 'transform_graph': [graph]},
        {'train_args': json.dumps({'num_steps': steps}), 'eval_args': json.dumps({'num_steps': eval_steps})},
        working_dir=str(work / 'working'))
    fn_args.serving_model_dir = str(work / 'model' / 'Format-Serving')
    fn_args.eval_model_dir = str(work / 'model' / 'Format-TFMA')
    fn_args.model_run_dir = str(work / 'model_run')
    fn_args.custom_config = config.to_custom_config()
    fn_args.base_model = base_model
    return fn_args
