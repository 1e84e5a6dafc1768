"""FnArgs built as the Trainer executor builds them, over the session's housing pipeline run."""

from __future__ import annotations

from pathlib import Path

from tfx.components.trainer import fn_args_utils  # builds FnArgs as the Trainer executor does
from tfx.types import artifact_utils, standard_artifacts

from components.trainer.config import TrainerConfig


def latest_version(path: Path) -> str:
    return str(max(path.iterdir(), key=lambda p: int(p.name)))


def housing_fn_args(run_dir: Path, work: Path, steps: int, config: TrainerConfig, base_model=None):
    transform = run_dir / 'pipeline' / 'Transform'
    examples = standard_artifacts.Examples()
    examples.uri = latest_version(transform / 'transformed_examples')
    examples.split_names = artifact_utils.encode_split_names(['train', 'eval'])
    graph = standard_artifacts.TransformGraph()
    graph.uri = latest_version(transform / 'transform_graph')
    fn_args = fn_args_utils.get_common_fn_args(
        {'examples': [examples], 'transform_graph': [graph]},
        {'train_args': f'{{"num_steps": {steps}}}', 'eval_args': '{"num_steps": 2}'},
        working_dir=str(work / 'working'))
    fn_args.serving_model_dir = str(work / 'model' / 'Format-Serving')
    fn_args.eval_model_dir = str(work / 'model' / 'Format-TFMA')
    fn_args.model_run_dir = str(work / 'model_run')
    fn_args.custom_config = config.to_custom_config()
    fn_args.base_model = base_model
    return fn_args
