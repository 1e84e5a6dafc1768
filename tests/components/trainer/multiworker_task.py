"""One task of a local training cluster: run_fn under this process's TF_CONFIG.

Run by test_multiworker.py as ``python -m tests.components.trainer.multiworker_task SPEC.json``
from the repository root, once per task (chief, worker, ps), as Vertex AI Training runs the
Trainer executor once per replica. The spec names the Transform output, the shared ModelRun
directory and this task's own Model directory.

On Vertex AI every replica gets the same Model artifact URI; here each task gets its own, so
the test can see who exported. The executor's check after run_fn (``run_fn failed to generate
model`` when the Model artifact has no serving model) is made against the chief's, which is
the one a replica on Vertex AI would look at.
"""

from __future__ import annotations

import json
import logging as pylogging
import sys
from typing import Any, Dict

from absl import logging
from tfx.components.trainer import fn_args_utils  # builds FnArgs as the Trainer executor does
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts

from components.recipes import get_recipe
from components.trainer import run_fn


def task_fn_args(spec: Dict[str, Any]) -> fn_args_utils.FnArgs:
    """This task's own FnArgs, built from the artifacts as the Trainer executor builds them."""
    examples = standard_artifacts.Examples()
    examples.uri = spec['examples_uri']
    examples.split_names = artifact_utils.encode_split_names(['train', 'eval'])
    graph = standard_artifacts.TransformGraph()
    graph.uri = spec['transform_graph_uri']
    fn_args = fn_args_utils.get_common_fn_args(
        {'examples': [examples], 'transform_graph': [graph]},
        {'train_args': json.dumps({'num_steps': spec['train_steps']}), 'eval_args': '{"num_steps": 2}'})
    fn_args.serving_model_dir = f'{spec["model_dir"]}/Format-Serving'
    fn_args.eval_model_dir = f'{spec["model_dir"]}/Format-TFMA'
    fn_args.model_run_dir = spec['model_run_dir']
    fn_args.custom_config = get_recipe(spec['recipe']).trainer_config(**spec['trainer_settings']).to_custom_config()
    fn_args.base_model = None
    return fn_args


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    logging.set_verbosity(logging.INFO)
    pylogging.basicConfig(level=pylogging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s',
                          force=True)
    run_fn(task_fn_args(spec))
    # GenericExecutor.Do's own check, right after run_fn returns on this replica.
    if not fileio.exists(f'{spec["executor_model_dir"]}/Format-Serving'):
        raise RuntimeError('run_fn failed to generate model.')
    logging.info('task finished: the executor would succeed')


if __name__ == '__main__':
    main(sys.argv[1])
