"""The README's own-pipeline example (examples/own_pipeline/pipeline.py), run exactly as a user runs it.

A TFX pipeline that is not ours (CsvExampleGen, SchemaGen, a Transform module file, TFX's
Evaluator and Pusher) with our run_fn as its Trainer, on the wine table (no recipe's data).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / 'examples' / 'own_pipeline' / 'pipeline.py'
CLASSES = ['barbera', 'barolo', 'grignolino']


@pytest.fixture(scope='module')
def wine_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('own-pipeline')
    proc = subprocess.run([sys.executable, str(EXAMPLE), '--output', str(out / 'run'), '--train-steps', '300'],
                          capture_output=True, text=True, timeout=900, cwd=out,
                          env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return out / 'run'


def _only(path: Path) -> Path:
    (child,) = list(path.iterdir())
    return child


def test_the_docs_show_the_example_as_it_is():
    readme = (REPO_ROOT / 'docs' / 'own-pipeline.md').read_text()
    (block,) = re.findall(r'<!-- examples/own_pipeline/pipeline.py -->\n```python\n(.*?)```', readme, re.S)
    assert block.strip() in EXAMPLE.read_text(), 'docs/own-pipeline.md quotes the file'


def test_trains_checkpoints_and_exports_like_a_recipe(wine_run):
    model = _only(wine_run / 'pipeline' / 'Trainer' / 'model')
    assert (model / 'Format-Serving' / 'saved_model.pb').exists()
    assert (model / 'Format-TFMA' / 'saved_model.pb').exists(), 'the EvalSavedModel the Evaluator read'
    model_run = _only(wine_run / 'pipeline' / 'Trainer' / 'model_run')
    checkpoint = tf.train.latest_checkpoint(str(model_run / 'estimator'))
    assert checkpoint and checkpoint.endswith('-300')
    assert list((model_run / 'estimator').glob('events.out.tfevents.*'))
    assert (wine_run / 'checkpoints').is_dir(), 'the resume folder of checkpoint_root'


def test_blessed_pushed_and_serving_raw_rows(wine_run):
    evaluation = _only(wine_run / 'pipeline' / 'Evaluator' / 'blessing')
    assert (evaluation / 'BLESSED').exists()
    pushed = _only(wine_run / 'serving')
    model = tf.saved_model.load(str(pushed))
    assert {'serving_default', 'classification'} <= set(model.signatures)
    with (REPO_ROOT / 'examples' / 'data' / 'wine' / 'wine.csv').open() as f:
        rows = list(csv.DictReader(f))[::10]
    examples = []
    for row in rows:
        example = tf.train.Example()
        for key, value in row.items():
            if key == 'cultivar':
                continue
            feature = example.features.feature[key]
            if key in ('magnesium', 'proline'):  # SchemaGen saw integers
                feature.int64_list.value.append(int(value))
            else:
                feature.float_list.value.append(float(value))
        examples.append(example.SerializeToString())
    out = model.signatures['classification'](inputs=tf.constant(examples))
    classes = out['classes'].numpy().astype(str)
    assert classes.shape == (len(rows), 3) and set(classes[0]) == set(CLASSES)
    predicted = [classes[i][np.argmax(out['scores'].numpy()[i])] for i in range(len(rows))]
    accuracy = np.mean([p == r['cultivar'] for p, r in zip(predicted, rows, strict=True)])
    assert accuracy >= 0.8, (accuracy, predicted)
    metrics = json.loads((_only(wine_run / 'pipeline' / 'Evaluator' / 'evaluation') / 'eval_config.json').read_text())
    assert metrics['evalConfig']['modelSpecs'][0]['signatureName'] == 'eval'
