"""Choosing among candidate models: TFX's own Tuner executor runs our tuner_fn on a real Transform
output, and run_fn trains what it chose."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from unittest import mock

import pytest
from tfx.components.tuner import executor as tuner_executor
from tfx.types import artifact_utils, standard_artifacts

from tests.components.trainer.fn_args import trainer_fn_args
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer import run_fn
from tfx_keras_estimator.components.trainer.tuning import CANDIDATE, tuned, tuner_custom_config
from tfx_keras_estimator.pipelines.config import TUNER_FN

HOUSING = get_recipe('housing')


def _tune(inputs, work: Path, config, higher_is_better: bool = False) -> dict:
    """TFX's Tuner executor, as a pipeline runs it; returns its best_hyperparameters."""
    examples = standard_artifacts.Examples()
    examples.uri = inputs['examples_uri']
    examples.split_names = artifact_utils.encode_split_names(['train', 'eval'])
    graph = standard_artifacts.TransformGraph()
    graph.uri = inputs['transform_graph_uri']
    best = standard_artifacts.HyperParameters()
    best.uri = str(work / 'best')
    results = standard_artifacts.TunerResults()
    results.uri = str(work / 'results')
    for artifact in (best, results):
        Path(artifact.uri).mkdir(parents=True)
    context = tuner_executor.base_executor.BaseExecutor.Context(tmp_dir=str(work / 'tmp'), unique_id='1')
    executor = tuner_executor.Executor(context)
    with mock.patch.object(sys, 'argv', sys.argv[:1]):
        executor.Do({'examples': [examples], 'transform_graph': [graph]},
                    {'best_hyperparameters': [best], 'tuner_results': [results]},
                    {'tuner_fn': TUNER_FN, 'train_args': json.dumps({'num_steps': 60}),
                     'eval_args': json.dumps({'num_steps': 4}),
                     'custom_config': json.dumps(tuner_custom_config(config, 'rmse', higher_is_better))})
    return json.loads((Path(best.uri) / 'best_hyperparameters.txt').read_text())


def test_the_tuner_picks_the_candidate_with_the_better_gate_metric(housing_trainer_inputs, tmp_path):
    # Candidate 0 cannot learn in 60 steps; candidate 1 is the recipe as it is.
    config = HOUSING.trainer_config(candidates=({'learning_rate': 1e-9}, {}))
    best = _tune(housing_trainer_inputs, tmp_path, config)
    assert best['values'] == {CANDIDATE: 1}
    # Both were trained and scored (TFX's tuner results: one row per candidate, RMSE in the label's units).
    rows = json.loads((tmp_path / 'results' / 'tuner_results.json').read_text())
    scores = {row[CANDIDATE]: row['score'] for row in rows}
    assert set(scores) == {0, 1} and scores[1] < scores[0]


def test_the_trainer_trains_the_chosen_candidate(housing_trainer_inputs, tmp_path):
    config = HOUSING.trainer_config(candidates=({'optimizer': 'NoSuchOptimizer'}, {}))
    fn_args = trainer_fn_args(housing_trainer_inputs, tmp_path, 5, config)
    fn_args.hyperparameters = {'space': [], 'values': {CANDIDATE: 0}}
    # The chosen candidate's hparams are the ones compiled: its optimizer is refused by name.
    with pytest.raises(ValueError, match='NoSuchOptimizer'):
        run_fn(fn_args)


def test_tuned_merges_the_choice_and_refuses_a_choice_it_cannot_have():
    config = HOUSING.trainer_config(candidates=({}, {'learning_rate': 0.5}))
    assert tuned(config, None) is config
    chosen = tuned(config, {'values': {CANDIDATE: 1, 'batch_size': 16}})
    assert chosen.hparams == {**HOUSING.hparams, 'learning_rate': 0.5, 'batch_size': 16}
    assert chosen.candidates == ()
    with pytest.raises(ValueError, match='chose candidate 2, but .* has 2 candidates'):
        tuned(config, {'values': {CANDIDATE: 2}})
    with pytest.raises(ValueError, match='nothing for a Tuner to choose'):
        tuner_custom_config(dataclasses.replace(config, candidates=()), 'rmse', False)
