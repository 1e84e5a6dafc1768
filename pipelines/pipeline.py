"""The one pipeline definition. Every runner (local, Kubeflow, Vertex) calls ``create_pipeline``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import List, Optional

import tensorflow_model_analysis as tfma
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from tfx_keras_estimator.components.anomaly_gate import AnomalyGate
from tfx_keras_estimator.components.baseline import LatestBlessedOtherModelStrategy
from tfx_keras_estimator.components.fast_evaluator import FastEvaluator
from tfx_keras_estimator.components.fast_example_gen import FastCsvExampleGen
from tfx_keras_estimator.components.fast_example_gen.options import CsvOptions
from tfx_keras_estimator.components.fast_statistics_gen import FastStatisticsGen
from tfx_keras_estimator.components.fast_transform import FastTransform
from tfx_keras_estimator.components.recipes.registry import Recipe, read_schema
from tfx_keras_estimator.components.trainer.config import CANNED_MODE, TrainerConfig
from tfx_keras_estimator.components.trainer.model import loss_and_metrics
from tfx_keras_estimator.components.trainer.native import TRANSFORM_SIGNATURE
from tfx_keras_estimator.components.trainer.stack import LEGACY, MODERN
from tfx_keras_estimator.components.trainer.tuning import tuner_custom_config
from tfx_keras_estimator.pipelines import cloud_wiring
from tfx_keras_estimator.pipelines.config import (
    CANNED_COMPARISON_ID,
    CANNED_TRAINER_ID,
    EVALUATOR_ID,
    TRAINER_ID,
    TRAINER_RUN_FN,
    TUNER_FN,
    TUNER_ID,
    PipelineConfig,
)
from tfx_keras_estimator.pipelines.data import TFRECORD_PATTERN
from tfx_keras_estimator.pipelines.fingerprint import keras_file_fingerprint, trainer_fingerprint, transform_fingerprint

BASELINE_RESOLVER_ID = 'baseline_model_resolver'


def _model_channel() -> tfx.dsl.Channel:
    """Models of our Trainer only: a canned baseline's model is never a warm start.

    (The Evaluator's baseline needs no such filter: it is a blessed model, and only the
    gating Evaluator blesses. A producer filter there would also clash with the resolver's
    ``candidate`` input, the same Trainer output, which TFX then compiles as one input.)
    """
    return tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model, producer_component_id=TRAINER_ID,
                           output_key='model')


def comparison_eval_config() -> tfma.EvalConfig:
    """Keras model vs canned Estimator on the eval split: metrics of both and their difference.

    No thresholds: the comparison informs and blesses nothing (TFX writes no blessing
    without thresholds), so it can never make a model pushable.
    """
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name='eval')],
        slicing_specs=[tfma.SlicingSpec()],
        # The EvalSavedModel's own metrics, and TFMA's example count of it (see eval_config).
        metrics_specs=[tfma.MetricsSpec()])


def eval_config(recipe: Recipe, stack: str = LEGACY) -> tfma.EvalConfig:
    """TFMA config: the model's own metrics plus an absolute and a relative gate.

    The change threshold compares with the last blessed model; on a first run
    there is none and only the absolute bound applies. On the modern stack (no
    EvalSavedModel in TFMA 0.47) the eval model's ``serving_default`` on the serialized
    examples, its ``transform_features`` for the transformed label, and the metrics the
    Keras model is compiled with (``loss_and_metrics``: the same names and definitions),
    given to TFMA explicitly.
    """
    gate = recipe.gate
    direction = (tfma.MetricDirection.HIGHER_IS_BETTER if gate.higher_is_better
                 else tfma.MetricDirection.LOWER_IS_BETTER)
    bound = {'lower_bound' if gate.higher_is_better else 'upper_bound': {'value': gate.bound}}
    # "No worse than the baseline by more than the tolerance": the change is
    # candidate - baseline, so the allowed change is -tol (higher is better) or +tol.
    allowed_change = -gate.change_tolerance if gate.higher_is_better else gate.change_tolerance
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(**bound),
        change_threshold=tfma.GenericChangeThreshold(
            direction=direction, absolute={'value': allowed_change}))
    # The gate is on the overall slice; small slices only inform.
    gate_thresholds = {gate.metric: tfma.PerSliceMetricThresholds(thresholds=[
        tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)])}
    slicing_specs = [tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[key]) for key in recipe.slice_features]
    if stack == MODERN:
        task = recipe.task_spec
        metrics = loss_and_metrics(task.task)[1]
        # TFMA's example_count besides; no example weights (as on the legacy stack), said explicitly:
        # a threshold's key must name the unweighted metric the spec computes.
        specs = tfma.metrics.specs_from_metrics(metrics, include_weighted_example_count=False)
        for spec in specs:
            spec.example_weights.unweighted = True
        # TFMA's own metrics carry their thresholds in their MetricConfig (the spec's map is for
        # metrics computed in the model's graph, keyed without the example weighting).
        configs = [m for spec in specs for m in spec.metrics if json.loads(m.config).get('name') == gate.metric]
        if not configs:
            raise ValueError(f'the gate metric {gate.metric!r} of {recipe.name!r} is none of the metrics a '
                             f'{task.task} model is evaluated with ({[m.name for m in metrics]})')
        configs[0].per_slice_thresholds.extend(gate_thresholds[gate.metric].thresholds)
        return tfma.EvalConfig(
            model_specs=[tfma.ModelSpec(
                signature_name='serving_default', preprocessing_function_names=[TRANSFORM_SIGNATURE],
                label_key=task.transformed_label_key, prediction_key=task.prediction_key)],
            slicing_specs=slicing_specs, metrics_specs=specs)
    return tfma.EvalConfig(
        # 'eval': the EvalSavedModel exported by run_fn (Format-TFMA in the Model artifact).
        model_specs=[tfma.ModelSpec(signature_name='eval')],
        slicing_specs=slicing_specs,
        # No TFMA metrics on top of the EvalSavedModel's own: TFMA counts its examples anyway
        # ('post_export_metrics/example_count', read as 'example_count'), and an ExampleCount
        # metric besides took 10-12% of the Evaluator's time (Python per example and slice).
        metrics_specs=[tfma.MetricsSpec(per_slice_thresholds=gate_thresholds)],
    )


def csv_options(config: PipelineConfig) -> CsvOptions:
    """ExampleGen's column types, from the schema the pipeline validates with, and the recipe's
    missing tokens: the examples then have the schema's types whatever a batch holds.

    The schema is read where the pipeline is built: the configured one where it is a file
    here, else the recipe's own (a compiled pipeline names the image's copy of it).
    """
    path = Path(config.resolved_schema_path)
    schema = read_schema(path if path.is_file() else config.recipe.schema_path)
    return CsvOptions.from_schema(schema, config.recipe.missing_tokens)


def check_fail_closed(components: List) -> None:
    """Refuses a pipeline in which a Pusher could push a model nobody evaluated.

    TFX's Pusher pushes unconditionally when it has no ``model_blessing`` input.
    """
    ids = {c.id for c in components}
    for component in components:
        if isinstance(component, tfx.components.Pusher):
            blessing = component.inputs.get('model_blessing')
            if blessing is None:
                raise ValueError(
                    f'{component.id} has no model_blessing: it would push every model, evaluated or '
                    'not. Wire an Evaluator\'s blessing into it.')
            if blessing.producer_component_id not in ids:
                raise ValueError(f'{component.id} takes its blessing from '
                                 f'{blessing.producer_component_id!r}, which is not in this pipeline')


def create_pipeline(config: PipelineConfig,
                    metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None,
                    ) -> tfx.dsl.Pipeline:
    """ExampleGen -> StatisticsGen -> ImportSchemaGen -> ExampleValidator -> Transform
    -> Trainer -> (baseline: latest blessed other model) -> Evaluator -> Pusher."""
    recipe = config.recipe
    wiring = cloud_wiring.resolve(config)
    split = config.resolved_split()
    output_config = tfx.proto.Output(split_config=tfx.proto.SplitConfig(splits=[
        tfx.proto.SplitConfig.Split(name='train', hash_buckets=split.train_buckets),
        tfx.proto.SplitConfig.Split(name='eval', hash_buckets=split.eval_buckets),
    ]))
    if recipe.data_format == 'tfrecord':
        # tf.Examples taken as they are (images as encoded bytes, say), same hash split.
        example_gen = tfx.components.ImportExampleGen(
            input_base=wiring.data_root,
            input_config=tfx.proto.Input(splits=[
                tfx.proto.Input.Split(name='single_split', pattern=TFRECORD_PATTERN)]),
            output_config=output_config)
    else:
        # CsvExampleGen with an Arrow-based executor: the same examples and split, ~11x faster.
        example_gen = FastCsvExampleGen(
            input_base=wiring.data_root,
            input_config=tfx.proto.Input(splits=[
                tfx.proto.Input.Split(name='single_split', pattern='*.csv')]),
            output_config=output_config,
            custom_config=csv_options(config).to_custom_config()).with_id('CsvExampleGen')
    # StatisticsGen and Transform whose executors read tf.Examples ~10x faster (components/fast_tfxio.py).
    statistics_gen = FastStatisticsGen(examples=example_gen.outputs['examples']).with_id('StatisticsGen')
    schema_gen = tfx.components.ImportSchemaGen(schema_file=config.resolved_schema_path)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs['statistics'], schema=schema_gen.outputs['schema'])
    transform = FastTransform(
        examples=example_gen.outputs['examples'],
        schema=schema_gen.outputs['schema'],
        preprocessing_fn=recipe.preprocessing_fn,
        force_tf_compat_v1=config.transform_tf_compat_v1,
        # The recipe's settings for a preprocessing_fn(inputs, custom_config); the code's hash
        # (read by no preprocessing_fn) puts the code in the cache key.
        custom_config={**recipe.transform_custom_config(),
                       'code_fingerprint': transform_fingerprint(recipe.preprocessing_fn)},
        disable_statistics=not config.transform_statistics,
        # No analyzer_cache input is wired (no run reads a previous run's cache), so writing
        # one is work for nothing (about a tenth of Transform's time at 100x: bench/scale.py).
        disable_analyzer_cache=True,
        materialize=config.transform_materialize).with_id('Transform')

    components: List = [example_gen, statistics_gen, schema_gen, example_validator]
    if config.anomaly_gate != 'off':
        gate = AnomalyGate(anomalies=example_validator.outputs['anomalies'],
                           min_severity=config.anomaly_gate).with_id('AnomalyGate')
        # No data flows from the gate to Transform: the edge only orders them, so a
        # failing gate stops the run before Transform and Trainer.
        transform.add_upstream_node(gate)
        components.append(gate)
    components.append(transform)

    base_model = None
    if config.warm_start:
        latest_model = tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
            model=_model_channel(),
        ).with_id('latest_model_resolver')
        components.append(latest_model)
        base_model = latest_model.outputs['model']

    own = config.trainer_config
    trainer_config = dataclasses.replace(
        own,
        checkpoint_root=own.checkpoint_root or f'{config.pipeline_root.rstrip("/")}/checkpoints',
        raw_examples=not config.transform_materialize,
        code_fingerprint=trainer_fingerprint(own) + (
            f'+{keras_file_fingerprint(own.keras_model_path)}' if own.keras_model_path else ''))
    hyperparameters = None
    if trainer_config.candidates:
        # Keras fit of each candidate on the Trainer's inputs and steps; the best on the eval split is trained.
        tuner = tfx.components.Tuner(
            tuner_fn=TUNER_FN, examples=_trainer_examples(trainer_config, example_gen, transform),
            transform_graph=transform.outputs['transform_graph'], schema=schema_gen.outputs['schema'],
            train_args=wiring.train_args, eval_args=wiring.eval_args,
            custom_config=tuner_custom_config(trainer_config, recipe.gate.metric, recipe.gate.higher_is_better),
        ).with_id(TUNER_ID)
        components.append(tuner)
        hyperparameters = tuner.outputs['best_hyperparameters']
    trainer = _trainer(wiring, trainer_config, example_gen, transform, schema_gen, base_model=base_model,
                       hyperparameters=hyperparameters).with_id(TRAINER_ID)

    if config.baseline_strategy == 'latest_blessed':
        # TFX's built-in strategy: KubeflowV2DagRunner (Vertex) compiles no other kind.
        baseline = tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
            model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
        ).with_id(BASELINE_RESOLVER_ID)
    else:
        baseline = tfx.dsl.Resolver(
            strategy_class=LatestBlessedOtherModelStrategy,
            model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
            candidate=trainer.outputs['model'],
        ).with_id(BASELINE_RESOLVER_ID)

    evaluator = FastEvaluator(
        examples=example_gen.outputs['examples'],
        model=trainer.outputs['model'],
        baseline_model=baseline.outputs['model'],
        eval_config=eval_config(recipe, config.stack)).with_id(EVALUATOR_ID)

    # To the serving folder, or to a Vertex AI endpoint.
    pusher = wiring.pusher(model=trainer.outputs['model'], model_blessing=evaluator.outputs['blessing'])

    components += [trainer, baseline, evaluator, pusher]
    if config.canned_baseline:
        components += _canned_baseline(wiring, trainer_config, example_gen, transform, schema_gen, trainer)
    check_fail_closed(components)
    return tfx.dsl.Pipeline(
        pipeline_name=config.name,
        pipeline_root=config.pipeline_root,
        components=components,
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=wiring.beam_pipeline_args,
    )


def _trainer_examples(trainer_config: TrainerConfig, example_gen, transform):
    """ExampleGen's raw examples, transformed as they are read, unless Transform materializes
    them (``trainer_config.raw_examples`` says which)."""
    return (example_gen.outputs['examples'] if trainer_config.raw_examples
            else transform.outputs['transformed_examples'])


def _trainer(wiring: cloud_wiring.Wiring, trainer_config: TrainerConfig, example_gen, transform, schema_gen,
             base_model=None, hyperparameters=None):
    """Our run_fn on Transform's output: TFX's Trainer, or Vertex AI Training's (its keys beside ours)."""
    return wiring.trainer(
        trainer_config.to_custom_config(),
        run_fn=TRAINER_RUN_FN,
        examples=_trainer_examples(trainer_config, example_gen, transform),
        transform_graph=transform.outputs['transform_graph'],
        schema=schema_gen.outputs['schema'],
        base_model=base_model,
        hyperparameters=hyperparameters,
        train_args=wiring.train_args,
        eval_args=wiring.eval_args)


def _canned_baseline(wiring: cloud_wiring.Wiring, trainer_config: TrainerConfig, example_gen, transform,
                     schema_gen, trainer) -> List:
    """The recipe's pre-made Estimator on the same Transform output and steps, and the comparison."""
    canned_config = dataclasses.replace(trainer_config, mode=CANNED_MODE, model_builder=None,
                                        keras_model_path=None, allow_unsafe_keras_file=False, candidates=(),
                                        task=dataclasses.replace(trainer_config.task, weight_labels=None))
    canned_trainer = _trainer(wiring, canned_config, example_gen, transform, schema_gen).with_id(CANNED_TRAINER_ID)
    comparison = FastEvaluator(
        examples=example_gen.outputs['examples'],
        model=trainer.outputs['model'],
        baseline_model=canned_trainer.outputs['model'],
        eval_config=comparison_eval_config()).with_id(CANNED_COMPARISON_ID)
    return [canned_trainer, comparison]
