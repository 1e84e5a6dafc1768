"""Scale-out options and compile configs, on create_pipeline in this process (no compiler needed)."""

from __future__ import annotations

import json

import pytest
from tfx import v1 as tfx

from tests.kubeflow.conftest import CLOUD_CONFIG, IMAGE, PIPELINE_ROOT
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.trainer.config import CANNED_MODE, KERAS_FILE_MODE, KERAS_FIT_MODE
from tfx_keras_estimator.kubeflow.compile import (
    IMAGE_SITE,
    CompileConfig,
    image_wheel,
    in_pod_beam_args,
    pipeline_config,
)
from tfx_keras_estimator.kubeflow.runner_env import config_from_env
from tfx_keras_estimator.pipelines.cloud import CloudConfig, DataflowConfig, VertexTrainingConfig, WorkerPoolConfig
from tfx_keras_estimator.pipelines.config import PipelineConfig
from tfx_keras_estimator.pipelines.pipeline import check_fail_closed, create_pipeline

EXTENSIONS = tfx.extensions.google_cloud_ai_platform


def _compile_config(engine='vertex', recipe='housing', **kw) -> CompileConfig:
    kw.setdefault('runtime_parameters', True)  # as tke compile has it
    return CompileConfig(engine=engine, image=IMAGE,
                         pipeline=PipelineConfig(recipe=recipe, pipeline_root=PIPELINE_ROOT, **kw))


def _components(config: PipelineConfig):
    return {c.id: c for c in create_pipeline(config).components}


def test_compiled_config_uses_paths_in_the_image_and_the_builtin_resolver_for_vertex():
    config = pipeline_config(_compile_config())
    # The wheel's package data, where the image installs it.
    assert config.schema_path == f'{IMAGE_SITE}/tfx_keras_estimator/schemas/housing.pbtxt'
    assert config.data_root == f'{IMAGE_SITE}/tfx_keras_estimator/components/recipes/housing/data'
    assert config.serving_dir == f'{PIPELINE_ROOT}/serving'
    assert config.beam_pipeline_args == in_pod_beam_args()
    assert config.runtime_parameters and config.cloud.image == IMAGE
    assert config.baseline_strategy == 'latest_blessed'
    assert pipeline_config(_compile_config('kubeflow')).baseline_strategy == 'latest_blessed_other'
    resolver = _components(config)['baseline_model_resolver']
    assert resolver.exec_properties['resolver_class'] is tfx.dsl.experimental.LatestBlessedModelStrategy
    assert set(resolver.inputs) == {'model', 'model_blessing'}


def test_defaults_keep_the_local_components():
    config = pipeline_config(_compile_config(runtime_parameters=False))
    components = _components(config)
    assert type(components['Trainer']) is tfx.components.Trainer
    assert type(components['Pusher']) is tfx.components.Pusher
    train_args = components['Trainer'].exec_properties['train_args']
    steps = json.loads(train_args)['num_steps'] if isinstance(train_args, str) else train_args.num_steps
    assert steps == config.resolved_train_steps()


def test_scale_out_picks_the_extension_components_and_dataflow():
    cloud = CloudConfig.from_dict({**CLOUD_CONFIG, 'image': IMAGE})
    config = pipeline_config(_compile_config(cloud=cloud))
    assert config.beam_pipeline_args == []
    pipeline = create_pipeline(config)
    components = {c.id: c for c in pipeline.components}
    trainer, pusher = components['Trainer'], components['Pusher']
    assert isinstance(trainer, EXTENSIONS.Trainer) and isinstance(pusher, EXTENSIONS.Pusher)
    custom = trainer.exec_properties['custom_config']
    custom = json.loads(custom) if isinstance(custom, str) else custom
    assert custom['tke_trainer']['task']['label_key'] == 'medv'  # ours, beside the extension's keys
    assert custom[EXTENSIONS.ENABLE_VERTEX_KEY] is True
    pools = custom[EXTENSIONS.TRAINING_ARGS_KEY]['job_spec']['worker_pool_specs']
    assert [p['replica_count'] for p in pools] == [1, 2, 1, 1]  # chief, workers, parameter servers, evaluator
    assert pools[0]['machine_spec']['accelerator_type'] == 'NVIDIA_TESLA_T4'
    assert pools[0]['machine_spec']['accelerator_count'] == 1
    serving = pusher.exec_properties['custom_config']
    serving = json.loads(serving) if isinstance(serving, str) else serving
    assert serving[EXTENSIONS.SERVING_ARGS_KEY]['endpoint_name'] == 'tke-housing'
    assert serving[EXTENSIONS.VERTEX_CONTAINER_IMAGE_URI_KEY].startswith('us-docker.pkg.dev/vertex-ai/prediction/')
    assert '--runner=DataflowRunner' in pipeline.beam_pipeline_args
    assert f'--sdk_container_image={IMAGE}' in pipeline.beam_pipeline_args
    check_fail_closed(list(pipeline.components))  # the Vertex Pusher still needs the blessing


def test_local_pipeline_is_unchanged_by_default(tmp_path):
    config = PipelineConfig(recipe='housing', pipeline_root=str(tmp_path), data_root='/data',
                            schema_path='/schema.pbtxt', serving_dir=str(tmp_path / 'serving'))
    pipeline = create_pipeline(config)
    components = {c.id: c for c in pipeline.components}
    assert components['CsvExampleGen'].exec_properties['input_base'] == '/data'
    assert pipeline.beam_pipeline_args == []
    assert set(components['baseline_model_resolver'].inputs) == {'model', 'model_blessing', 'candidate'}


@pytest.mark.parametrize('change, message', [
    (lambda c: c['vertex_training'].pop('workers'), 'parameter_servers needs vertex_training.workers'),
    (lambda c: c['dataflow'].update(temp_location='/tmp/x'), 'must be a gs:// URI'),
    (lambda c: c['dataflow'].update(zone='x'), r"unknown keys in dataflow: \['zone'\]"),
    (lambda c: c['dataflow'].pop('temp_location'), r'dataflow: missing dataflow.temp_location \(required keys: '
                                                    r'project, region, temp_location\)'),
    (lambda c: c['dataflow'].update(num_workers=0), 'dataflow.num_workers must be an integer of at least 1'),
    (lambda c: c['dataflow'].update(num_workers=9), r'dataflow.num_workers \(9\) exceeds dataflow.max_num_workers'),
    (lambda c: c['dataflow'].update(experiments='use_runner_v2'), 'dataflow.experiments must be a list'),
    (lambda c: c['dataflow'].update(experiments=['--use_runner_v2']), "dataflow.experiments: each is an experiment"),
    (lambda c: c['dataflow'].update(extra_args=['worker_zone=a']), "dataflow.extra_args 'worker_zone=a': a Beam "),
    (lambda c: c['dataflow'].update(extra_args=['--worker_zone']), "dataflow.extra_args '--worker_zone': Beam "
                                                                   "refuses it"),
    (lambda c: c['vertex_training']['chief'].update(replica_count=2), 'chief.replica_count must be 1'),
    (lambda c: c['vertex_training'].pop('parameter_servers'),
     'evaluator needs vertex_training.workers and vertex_training.parameter_servers'),
    (lambda c: c['vertex_training']['evaluator'].update(replica_count=2), 'evaluator.replica_count must be 1'),
    (lambda c: c['vertex_training']['evaluator'].update(gpus=1),
     r"unknown keys in vertex_training.evaluator: \['gpus'\]"),
    (lambda c: c['vertex_endpoint'].pop('endpoint_name'), 'vertex_endpoint: .*endpoint_name'),
    (lambda c: c.pop('image'), 'set cloud.image'),
])
def test_bad_cloud_configs_are_clear_errors(change, message):
    config = json.loads(json.dumps({**CLOUD_CONFIG, 'image': IMAGE}))
    change(config)
    with pytest.raises(ValueError, match=message):
        CloudConfig.from_dict(config)


@pytest.mark.parametrize('kw, message', [
    (dict(pipeline_root='/home/me/root'), 'is a path of this machine'),
    (dict(data_root='data/housing'), 'is a path of this machine'),
    (dict(schema_path='/home/me/schema.pbtxt'), 'is a path of this machine'),
    (dict(pipeline_root='s3://bucket/x'), 'needs a gs:// pipeline root'),
    (dict(image='bad image'), 'container image reference'),
    (dict(train_steps=0), 'train_steps must be at least 1'),
    (dict(engine='argo'), 'engine must be one of'),
])
def test_bad_compile_configs_are_clear_errors(kw, message):
    engine, image = kw.pop('engine', 'vertex'), kw.pop('image', IMAGE)
    with pytest.raises(ValueError, match=message):
        CompileConfig(engine=engine, image=image,
                      pipeline=PipelineConfig(**{'recipe': 'housing', 'pipeline_root': PIPELINE_ROOT, **kw}))


def test_runner_files_read_their_settings_from_the_environment():
    env = {'TKE_PIPELINE_ROOT': PIPELINE_ROOT, 'TKE_IMAGE': IMAGE, 'TKE_RECIPE': 'taxi', 'TKE_TRAIN_STEPS': '9'}
    config = config_from_env('kubeflow', env)
    assert (config.pipeline.recipe.name, config.pipeline.train_steps, config.engine, config.image) == (
        'taxi', 9, 'kubeflow', IMAGE)
    with pytest.raises(ValueError, match='set TKE_PIPELINE_ROOT and TKE_IMAGE'):
        config_from_env('vertex', {})
    with pytest.raises(ValueError, match='TKE_TRAIN_STEPS must be an integer'):
        config_from_env('vertex', {**env, 'TKE_TRAIN_STEPS': 'many'})


def test_every_dataflow_key_is_the_beam_option_of_its_name():
    from apache_beam.options.pipeline_options import PipelineOptions

    keys = dict(project='p', region='europe-west4', temp_location='gs://b/tmp', machine_type='n2-standard-8',
                num_workers=4, max_num_workers=40, disk_size_gb=100, service_account_email='sa@p.iam',
                subnetwork='regions/europe-west4/subnetworks/s', experiments=['use_runner_v2', 'min_num_workers=2'])
    args = DataflowConfig(**keys, extra_args=['--no_use_public_ips', '--num_workers=5']).beam_pipeline_args(IMAGE)
    assert args.count('--experiments=use_runner_v2') == 1 and '--experiments=min_num_workers=2' in args
    assert args[-2:] == ['--no_use_public_ips', '--num_workers=5']  # extra_args last: they win
    options = PipelineOptions(args).get_all_options()
    assert {k: options[k] for k in keys} == {**keys, 'num_workers': 5}
    assert (options['runner'], options['sdk_container_image'], options['use_public_ips']) == (
        'DataflowRunner', IMAGE, False)


def test_beam_arg_comes_after_ours_and_dataflow_s():
    user = ['--runner=PortableRunner', '--job_endpoint=localhost:8099']
    config = pipeline_config(_compile_config(extra_beam_args=user))
    # Another runner named: the DirectRunner's settings go, the image's wheel stays for its workers.
    assert config.beam_pipeline_args == [f'--extra_package={image_wheel()}']
    assert create_pipeline(config).beam_pipeline_args == [f'--extra_package={image_wheel()}', *user]
    own_image = pipeline_config(_compile_config(extra_beam_args=[*user, '--sdk_container_image=mine']))
    assert own_image.beam_pipeline_args == []
    cloud = CloudConfig.from_dict({**CLOUD_CONFIG, 'image': IMAGE})
    pipeline = create_pipeline(pipeline_config(_compile_config(cloud=cloud, extra_beam_args=['--max_num_workers=2'])))
    args = pipeline.beam_pipeline_args
    assert args[0] == '--runner=DataflowRunner' and args[-1] == '--max_num_workers=2'
    assert args.index('--max_num_workers=8') < args.index('--max_num_workers=2')
    for component in pipeline.components:
        if hasattr(component.executor_spec, 'beam_pipeline_args'):
            assert component.executor_spec.beam_pipeline_args[-1] == '--max_num_workers=2', component.id


def test_bad_beam_args_are_refused_by_the_compile_config():
    with pytest.raises(ValueError, match='--beam-arg: --runner=Spork: not a Beam runner'):
        _compile_config(extra_beam_args=['--runner=Spork'])
    with pytest.raises(ValueError, match="--beam-arg 'job_endpoint=embed': a Beam argument is --name=value"):
        _compile_config(extra_beam_args=['job_endpoint=embed'])


def _vertex_training(**pools) -> CloudConfig:
    return CloudConfig(image=IMAGE, vertex_training=VertexTrainingConfig(
        project='p', region='r', chief=WorkerPoolConfig(accelerator_type='NVIDIA_TESLA_T4', accelerator_count=1),
        **pools))


@pytest.mark.parametrize('mode', [KERAS_FIT_MODE, KERAS_FILE_MODE])
@pytest.mark.parametrize('pools, named', [
    (dict(workers=WorkerPoolConfig(replica_count=2)), 'vertex_training.workers'),
    (dict(workers=WorkerPoolConfig(), parameter_servers=WorkerPoolConfig()),
     'vertex_training.workers and vertex_training.parameter_servers'),
    (dict(workers=WorkerPoolConfig(), parameter_servers=WorkerPoolConfig(), evaluator=WorkerPoolConfig()),
     'vertex_training.workers and vertex_training.parameter_servers and vertex_training.evaluator'),
])
def test_keras_only_modes_with_pools_beside_the_chief_are_refused(mode, pools, named, tmp_path):
    settings = dict(mode=mode)
    if mode == KERAS_FILE_MODE:
        settings['keras_model_path'] = str(tmp_path / 'model.h5')
    trainer = get_recipe('housing').trainer_config(**settings)
    with pytest.raises(ValueError, match=f"Trainer mode '{mode}' runs on the chief alone, so {named} would only"):
        _compile_config(trainer=trainer, cloud=_vertex_training(**pools))
    # A chief alone (a GPU one here) is fine for it, and every pool is fine for the Estimator modes.
    _compile_config(trainer=trainer, cloud=_vertex_training())
    _compile_config(cloud=_vertex_training(**pools))
    _compile_config(trainer=get_recipe('housing').trainer_config(mode=CANNED_MODE), cloud=_vertex_training(**pools))
