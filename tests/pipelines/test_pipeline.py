"""create_pipeline: the wiring, built without running anything."""

from __future__ import annotations

import json

import pytest
import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tfx import v1 as tfx

from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.config import TRAINER_RUN_FN, EvalSplitConfig, PipelineConfig
from tfx_keras_estimator.pipelines.pipeline import check_fail_closed, create_pipeline, eval_config

ORDER = ['CsvExampleGen', 'StatisticsGen', 'ImportSchemaGen', 'ExampleValidator', 'AnomalyGate', 'Transform',
         'Trainer', 'baseline_model_resolver', 'Evaluator', 'Pusher']


def _config(recipe='housing', **kw) -> PipelineConfig:
    r = get_recipe(recipe)
    return PipelineConfig(recipe=recipe, pipeline_root='/tmp/root', data_root=str(r.data_dir),
                          schema_path=str(r.schema_path), serving_dir='/tmp/serving', **kw)


def _steps(component, key: str) -> int:
    value = component.exec_properties[key]
    return json.loads(value)['num_steps'] if isinstance(value, str) else value.num_steps


def test_components_in_order():
    pipeline = create_pipeline(_config())
    ids = [c.id for c in pipeline.components]
    assert sorted(ids) == sorted(ORDER)
    chain = ['CsvExampleGen', 'Transform', 'Trainer', 'Evaluator', 'Pusher']
    assert [ids.index(c) for c in chain] == sorted(ids.index(c) for c in chain)
    assert ids.index('StatisticsGen') < ids.index('ExampleValidator') < ids.index('AnomalyGate')
    # The gate stops the run before Transform and Trainer.
    assert ids.index('AnomalyGate') < ids.index('Transform')
    assert ids.index('ImportSchemaGen') < min(ids.index('ExampleValidator'), ids.index('Transform'))
    # The baseline is chosen once the candidate exists (it must not be the candidate).
    assert ids.index('Trainer') < ids.index('baseline_model_resolver') < ids.index('Evaluator')
    assert pipeline.pipeline_info.pipeline_name == 'tke-housing'


def test_trainer_and_transform_use_dotted_paths_from_the_package():
    components = {c.id: c for c in create_pipeline(_config(train_steps=7, eval_steps=3)).components}
    trainer = components['Trainer']
    assert trainer.exec_properties['run_fn'] == TRAINER_RUN_FN
    assert trainer.exec_properties.get('module_file') is None
    assert _steps(trainer, 'train_args') == 7
    assert _steps(trainer, 'eval_args') == 3
    assert components['Transform'].exec_properties['preprocessing_fn'] == \
        'tfx_keras_estimator.components.recipes.housing.preprocessing.preprocessing_fn'


def test_recipe_defaults_and_warm_start():
    recipe = get_recipe('taxi')
    components = {c.id: c for c in create_pipeline(_config('taxi', warm_start=True)).components}
    assert _steps(components['Trainer'], 'train_args') == recipe.train_steps
    assert 'latest_model_resolver' in components
    assert 'base_model' in components['Trainer'].inputs


def _hash_buckets(config: PipelineConfig) -> dict:
    example_gen = next(c for c in create_pipeline(config).components if c.id == 'CsvExampleGen')
    output_config = tfx.proto.Output()
    json_format.Parse(example_gen.exec_properties['output_config'], output_config)
    return {s.name: s.hash_buckets for s in output_config.split_config.splits}


def test_the_split_is_the_recipes_unless_the_config_names_one():
    assert _hash_buckets(_config('housing')) == {'train': 2, 'eval': 1}
    # The text recipe keeps the Keras bag-of-words post's 80/20 split.
    assert get_recipe('text').split_buckets == (4, 1)
    assert _hash_buckets(_config('text')) == {'train': 4, 'eval': 1}
    assert _hash_buckets(_config('text', split=EvalSplitConfig(9, 1))) == {'train': 9, 'eval': 1}
    with pytest.raises(ValueError, match='split buckets must be positive'):
        EvalSplitConfig(train_buckets=0)


def test_anomaly_gate_can_be_turned_off_or_set_to_warnings():
    ids = [c.id for c in create_pipeline(_config(anomaly_gate='off')).components]
    assert 'AnomalyGate' not in ids
    gate = {c.id: c for c in create_pipeline(_config(anomaly_gate='warning')).components}['AnomalyGate']
    assert gate.exec_properties['min_severity'] == 'warning'
    with pytest.raises(ValueError, match='anomaly_gate must be one of'):
        _config(anomaly_gate='sometimes')


def test_pusher_requires_the_evaluator_blessing():
    components = {c.id: c for c in create_pipeline(_config()).components}
    assert components['Pusher'].inputs['model_blessing'].producer_component_id == 'Evaluator'
    assert components['Evaluator'].inputs['baseline_model'].producer_component_id == \
        'baseline_model_resolver'


@pytest.mark.parametrize('recipe_name', ['housing', 'taxi', 'digits'])
def test_eval_config_gates_on_the_recipe_metric(recipe_name):
    recipe = get_recipe(recipe_name)
    config = eval_config(recipe)
    assert config.model_specs[0].signature_name == 'eval'
    (spec,) = config.metrics_specs
    threshold = spec.per_slice_thresholds[recipe.gate.metric].thresholds[0]
    assert list(threshold.slicing_specs) == [tfma.SlicingSpec()], 'the gate is on the overall slice'
    bound = threshold.threshold.value_threshold
    if recipe.gate.higher_is_better:
        assert bound.lower_bound.value == recipe.gate.bound
        assert threshold.threshold.change_threshold.absolute.value == -recipe.gate.change_tolerance
    else:
        assert bound.upper_bound.value == recipe.gate.bound
        assert threshold.threshold.change_threshold.absolute.value == recipe.gate.change_tolerance


def test_a_pusher_without_blessing_is_refused_at_build_time():
    components = list(create_pipeline(_config()).components)
    trainer = next(c for c in components if c.id == 'Trainer')
    unguarded = tfx.components.Pusher(
        model=trainer.outputs['model'],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory='/tmp/x')))
    with pytest.raises(ValueError, match='has no model_blessing: it would push every model'):
        check_fail_closed(components + [unguarded])
    check_fail_closed(components)  # the pipeline as built passes


@pytest.mark.parametrize('settings, materialize', [({}, False), ({'transform_materialize': True}, True)])
def test_the_trainer_reads_raw_examples_unless_transform_materializes(settings, materialize):
    from tfx_keras_estimator.components.trainer.config import TrainerConfig

    components = {c.id: c for c in create_pipeline(_config(**settings)).components}
    transform, trainer = components['Transform'], components['Trainer']
    assert ('transformed_examples' in transform.outputs) == materialize
    # No analyzer cache: none is read, so none is written.
    assert 'updated_analyzer_cache' not in transform.outputs and 'analyzer_cache' not in transform.inputs
    assert trainer.inputs['examples'].producer_component_id == ('Transform' if materialize else 'CsvExampleGen')
    assert trainer.inputs['transform_graph'].producer_component_id == 'Transform'
    config = TrainerConfig.from_custom_config(json.loads(trainer.exec_properties['custom_config']))
    assert config.raw_examples is not materialize


def test_canned_baseline_trains_beside_the_keras_model_and_gates_nothing():
    from tfx_keras_estimator.components.trainer.config import CANNED_MODE, TrainerConfig
    from tfx_keras_estimator.pipelines.config import CANNED_COMPARISON_ID, CANNED_TRAINER_ID

    assert CANNED_TRAINER_ID not in {c.id for c in create_pipeline(_config()).components}
    components = {c.id: c for c in create_pipeline(_config(canned_baseline=True, train_steps=9)).components}
    canned = components[CANNED_TRAINER_ID]
    assert TrainerConfig.from_custom_config(json.loads(canned.exec_properties['custom_config'])).mode == CANNED_MODE
    assert _steps(canned, 'train_args') == 9
    assert canned.inputs['examples'].producer_component_id == 'CsvExampleGen'
    comparison = components[CANNED_COMPARISON_ID]
    assert comparison.inputs['model'].producer_component_id == 'Trainer'
    assert comparison.inputs['baseline_model'].producer_component_id == CANNED_TRAINER_ID
    config = tfma.EvalConfig()
    json_format.Parse(comparison.exec_properties['eval_config'], config)
    assert not tfma.metrics.metric_thresholds_from_metrics_specs(config.metrics_specs, eval_config=config)
    # Only the gating Evaluator's blessing reaches the Pusher; a warm start never takes the canned model.
    assert components['Pusher'].inputs['model_blessing'].producer_component_id == 'Evaluator'
    warm = {c.id: c for c in create_pipeline(_config(canned_baseline=True, warm_start=True)).components}
    assert warm['latest_model_resolver'].raw_inputs['model'].producer_component_id == 'Trainer'


def test_edited_code_changes_the_transform_and_trainer_cache_keys(tmp_path):
    """The code's hash is in Transform's and the Trainer's execution properties, so TFX's cache
    re-runs them after an edit instead of reusing their outputs: an edited preprocessing_fn
    (Transform and Trainer), an edited model builder (the Trainer; here Transform too: the hash
    covers the module's folder, which holds both), a Keras model file saved again at the same path
    (the Trainer only)."""
    import dataclasses
    import shutil

    import tensorflow as tf

    from tests.conftest import REPO_ROOT
    from tfx_keras_estimator.components.trainer.config import KERAS_FILE_MODE

    # A package name of its own: a recipe folder imports as a package named after it, and another
    # test of this session may have imported examples/wine_recipe as `wine_recipe` already.
    folder = tmp_path / 'cache_key_recipe'
    shutil.copytree(REPO_ROOT / 'examples' / 'wine_recipe', folder)
    shutil.copytree(REPO_ROOT / 'examples' / 'data' / 'wine', tmp_path / 'data' / 'wine')
    keras_file = tmp_path / 'model.keras'

    def keys(keras: bool = False):
        config = PipelineConfig(recipe=str(folder), pipeline_root='/tmp/root', serving_dir='/tmp/serving')
        if keras:
            config = dataclasses.replace(config, trainer=dataclasses.replace(
                config.trainer_config, mode=KERAS_FILE_MODE, keras_model_path=str(keras_file), model_builder=None))
        components = {c.id: c for c in create_pipeline(config).components}
        return (json.loads(components['Transform'].exec_properties['custom_config'])['code_fingerprint'],
                json.loads(components['Trainer'].exec_properties['custom_config'])['tke_trainer']['code_fingerprint'])

    transform, trainer = keys()
    assert transform and trainer and keys() == (transform, trainer), 'the same code, the same keys'
    with (folder / 'preprocessing.py').open('a') as f:
        f.write('\n# an edit\n')
    edited = keys()
    assert edited[0] != transform and edited[1] != trainer
    with (folder / 'model.py').open('a') as f:
        f.write('\n# an edit\n')
    assert keys()[1] != edited[1]

    def save(units: int) -> None:
        inputs = tf.keras.Input(shape=(1,), name='x')
        tf.keras.Model(inputs, tf.keras.layers.Dense(units)(inputs)).save(keras_file)

    save(1)
    first = keys(keras=True)
    save(2)  # the same path, another model
    second = keys(keras=True)
    assert second[0] == first[0] and second[1] != first[1]


def test_a_recipe_with_candidates_gets_a_tuner_that_chooses_for_the_trainer():
    import dataclasses

    from tfx_keras_estimator.components.trainer.config import TrainerConfig
    from tfx_keras_estimator.components.trainer.tuning import TUNER_CONFIG_KEY
    from tfx_keras_estimator.pipelines.config import TUNER_FN, TUNER_ID

    assert TUNER_ID not in {c.id for c in create_pipeline(_config()).components}
    housing = get_recipe('housing')
    recipe = dataclasses.replace(housing, candidates=({}, {'learning_rate': 0.01}))
    config = dataclasses.replace(_config(train_steps=9, canned_baseline=True), recipe=recipe)
    components = {c.id: c for c in create_pipeline(config).components}
    tuner, trainer = components[TUNER_ID], components['Trainer']
    assert tuner.exec_properties['tuner_fn'] == TUNER_FN and _steps(tuner, 'train_args') == 9
    assert trainer.inputs['hyperparameters'].producer_component_id == TUNER_ID
    # The Tuner tunes on what the Trainer trains on, and picks by the gate's metric.
    assert tuner.inputs['examples'].producer_component_id == trainer.inputs['examples'].producer_component_id
    custom = json.loads(tuner.exec_properties['custom_config'])
    gate = housing.gate
    assert custom[TUNER_CONFIG_KEY] == {'metric': gate.metric, 'higher_is_better': gate.higher_is_better}
    assert TrainerConfig.from_custom_config(custom) == TrainerConfig.from_custom_config(
        json.loads(trainer.exec_properties['custom_config']))
    # The canned baseline has no candidates and takes no choice.
    assert 'hyperparameters' not in components['CannedTrainer'].inputs
