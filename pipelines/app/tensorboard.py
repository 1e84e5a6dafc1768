"""``tke tensorboard``: TensorBoard (installed with TensorFlow) on every training of a run directory.

Each Trainer execution writes its event files into its own ModelRun artifact; the
metadata store says which run made which, so each gets a name TensorBoard shows
(``run3-Trainer``, ``run3-CannedTrainer``): comparing trainings is picking runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Tuple

from tfx_keras_estimator.pipelines.app.local_runner import existing_run
from tfx_keras_estimator.pipelines.app.report import all_runs, pipeline_names
from tfx_keras_estimator.pipelines.config import CANNED_TRAINER_ID, TRAINER_ID

TRAINERS = (TRAINER_ID, CANNED_TRAINER_ID)


def training_logdirs(run_dir: Path) -> List[Tuple[str, str]]:
    """(name, ModelRun folder) of every training in the run directory, oldest first.

    A cached Trainer reuses an earlier ModelRun: it is listed once, under the run that made it.
    """
    metadata_path = existing_run(run_dir).metadata_path
    seen, out = set(), []
    for pipeline in pipeline_names(str(metadata_path)):
        for i, run in enumerate(all_runs(str(metadata_path), pipeline), 1):
            for node in TRAINERS:
                uri = run.output(node, 'ModelRun')
                if uri and uri not in seen and Path(uri).is_dir():
                    seen.add(uri)
                    out.append((f'run{i}-{node}', uri))
    if not out:
        raise ValueError(f'{run_dir} holds no training yet (no Trainer ModelRun in its metadata store)')
    return out


def tensorboard_command(logdirs: List[Tuple[str, str]], host: str, port: int) -> List[str]:
    """The TensorBoard command line: one named run per training (``--logdir_spec name:path,...``)."""
    for name, path in logdirs:
        if ',' in path or ':' in name:
            raise ValueError(f'TensorBoard cannot name {path!r} as {name!r} (a comma in the path or a colon in the '
                             'name); run tensorboard --logdir on it yourself')
    spec = ','.join(f'{name}:{path}' for name, path in logdirs)
    return [sys.executable, '-m', 'tensorboard.main', '--logdir_spec', spec, '--host', host, '--port', str(port)]
