"""The compiled Kubeflow Pipelines v1 (Argo YAML) and Vertex AI (KFP v2 JSON) specs, parsed.

Both come from real ``tke`` runs in the compile environment (see conftest.py).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, Set

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.kubeflow.conftest import IMAGE, PIPELINE_ROOT, REGION, USER_BEAM_ARG, kfp_venv
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.kubeflow.compile import IMAGE_SITE, image_wheel
from tfx_keras_estimator.pipelines.config import TRAINER_RUN_FN

# The edges we wire (others may exist, e.g. an optional second Trainer): node -> its upstream nodes.
EDGES = {
    'StatisticsGen': {'CsvExampleGen'},
    'ExampleValidator': {'StatisticsGen', 'ImportSchemaGen'},
    'AnomalyGate': {'ExampleValidator'},
    'Transform': {'AnomalyGate', 'CsvExampleGen', 'ImportSchemaGen'},
    'Trainer': {'CsvExampleGen', 'Transform', 'ImportSchemaGen'},
    'Evaluator': {'CsvExampleGen', 'Trainer'},
    'Pusher': {'Evaluator', 'Trainer'},
}
BEAM_COMPONENTS = ('CsvExampleGen', 'StatisticsGen', 'Transform', 'Evaluator')
HOUSING = get_recipe('housing')


def assert_user_beam_arg_last(args, where: str) -> None:
    """tke --beam-arg comes after the package's own value of the same option: Beam takes the last."""
    assert args[-1] == USER_BEAM_ARG, where
    assert args.index('--direct_num_workers=1') < args.index(USER_BEAM_ARG), where


# --- KFP v1 -----------------------------------------------------------------------------------

def _arg(args, flag: str) -> str:
    return args[args.index(flag) + 1]


def v1_nodes(spec_text: str) -> Dict[str, Dict[str, Any]]:
    """node id -> its template, its IR node, its executor spec and its upstream node ids."""
    workflow = yaml.safe_load(spec_text)
    templates = {t['name']: t for t in workflow['spec']['templates']}
    node_of = {name: _arg(t['container']['args'], '--node_id') for name, t in templates.items() if 'container' in t}
    (dag,) = [t['dag'] for t in templates.values() if 'dag' in t]
    nodes = {}
    for task in dag['tasks']:
        template = templates[task['template']]
        ir = json.loads(_arg(template['container']['args'], '--tfx_ir'))
        node_id = node_of[task['template']]
        (node,) = [n['pipelineNode'] for n in ir['nodes']]
        nodes[node_id] = {
            'template': template, 'ir': node, 'ir_text': _arg(template['container']['args'], '--tfx_ir'),
            'executor': ir.get('deploymentConfig', {}).get('executorSpecs', {}).get(node_id, {}),
            'upstream': {node_of[t] for t in task.get('dependencies', [])},
        }
    return nodes


def v1_param(node: Dict[str, Any], name: str) -> Dict[str, Any]:
    return node['ir']['parameters']['parameters'][name]


def test_kubeflow_v1_components_and_dependencies(kubeflow_spec):
    nodes = v1_nodes(kubeflow_spec.text)
    assert set(EDGES) | {'CsvExampleGen', 'ImportSchemaGen', 'baseline_model_resolver'} <= set(nodes)
    for node, upstream in EDGES.items():
        assert upstream <= nodes[node]['upstream'], node
    # Ours: the baseline is resolved once the candidate exists, and the Evaluator waits for it.
    assert 'Trainer' in nodes['baseline_model_resolver']['upstream']
    assert 'baseline_model_resolver' in nodes['Evaluator']['upstream']
    strategy = 'tfx_keras_estimator.components.baseline.LatestBlessedOtherModelStrategy'
    assert strategy in nodes['baseline_model_resolver']['ir_text']
    assert 'compiled housing for Kubeflow Pipelines (v1, Argo YAML)' in kubeflow_spec.cli.stdout


def test_kubeflow_v1_image_code_paths_beam_args_and_cache(kubeflow_spec):
    nodes = v1_nodes(kubeflow_spec.text)
    for node_id, node in nodes.items():
        assert node['template']['container']['image'] == IMAGE, node_id
        assert node['template']['container']['command'][-1] == 'tfx.orchestration.kubeflow.container_entrypoint'
        assert node['ir']['executionOptions']['cachingOptions']['enableCache'] is True, node_id
    assert v1_param(nodes['Trainer'], 'run_fn')['fieldValue']['stringValue'] == TRAINER_RUN_FN
    assert 'module_file' not in nodes['Trainer']['ir']['parameters']['parameters']
    assert json.loads(v1_param(nodes['Trainer'], 'custom_config')['fieldValue']['stringValue'])[
        'tke_trainer']['checkpoint_root'] == f'{PIPELINE_ROOT}/checkpoints'
    assert v1_param(nodes['Transform'], 'preprocessing_fn')['fieldValue']['stringValue'] == HOUSING.preprocessing_fn
    assert v1_param(nodes['ImportSchemaGen'], 'schema_file')['fieldValue']['stringValue'] == \
        f'{IMAGE_SITE}/tfx_keras_estimator/schemas/housing.pbtxt'
    for node_id in BEAM_COMPONENTS:
        args = nodes[node_id]['executor']['beamPipelineArgs']
        assert {'--direct_running_mode=in_memory', f'--extra_package={image_wheel()}'} <= set(args), node_id
        assert_user_beam_arg_last(args, node_id)
    assert 'beamPipelineArgs' not in nodes['Trainer']['executor']


def test_kubeflow_v1_runtime_parameters(kubeflow_spec):
    workflow = yaml.safe_load(kubeflow_spec.text)
    params = {p['name']: p['value'] for p in workflow['spec']['arguments']['parameters']}
    data_root = f'{IMAGE_SITE}/tfx_keras_estimator/components/recipes/housing/data'
    assert params == {'pipeline-root': PIPELINE_ROOT, 'data-root': data_root,
                      'train-args': '{"num_steps": 700}', 'eval-args': f'{{"num_steps": {HOUSING.eval_steps}}}'}
    nodes = v1_nodes(kubeflow_spec.text)
    assert v1_param(nodes['CsvExampleGen'], 'input_base')['runtimeParameter']['name'] == 'data-root'
    assert v1_param(nodes['Trainer'], 'train_args')['runtimeParameter']['name'] == 'train-args'
    assert v1_param(nodes['Trainer'], 'eval_args')['runtimeParameter']['name'] == 'eval-args'


# --- Vertex (KFP v2) --------------------------------------------------------------------------

def v2_tasks(spec_text: str) -> Dict[str, Dict[str, Any]]:
    """task name -> task, with its executor's container under 'container'."""
    spec = json.loads(spec_text)['pipelineSpec']
    executors = spec['deploymentSpec']['executors']
    tasks = {}
    for name, task in spec['root']['dag']['tasks'].items():
        component = spec['components'][task['componentRef']['name']]
        tasks[name] = {**task, 'executor': executors[component['executorLabel']]}
    return tasks


def v2_constant(task: Dict[str, Any], name: str) -> Any:
    value = task['inputs']['parameters'][name]['runtimeValue']['constantValue']
    return next(iter(value.values()))


def _upstream(task: Dict[str, Any]) -> Set[str]:
    return {t.split('-')[0] if t.startswith('baseline_model_resolver') else t for t in task.get('dependentTasks', [])}


def test_vertex_components_dependencies_and_builtin_resolver(vertex_dry_run):
    tasks = v2_tasks(vertex_dry_run.text)
    assert set(EDGES) | {'CsvExampleGen', 'ImportSchemaGen'} <= set(tasks)
    for node, upstream in EDGES.items():
        assert upstream <= _upstream(tasks[node]), node
    # TFX's built-in LatestBlessedModelStrategy compiles to two resolver tasks (blessing, then model).
    resolvers = {name for name in tasks if name.startswith('baseline_model_resolver')}
    assert resolvers == {'baseline_model_resolver-model-blessing-resolver', 'baseline_model_resolver-model-resolver'}
    assert all('resolver' in tasks[name]['executor'] for name in resolvers)
    assert 'baseline_model_resolver-model-resolver' in tasks['Evaluator']['dependentTasks']
    assert 'tfx_keras_estimator.components.baseline' not in vertex_dry_run.text


def test_vertex_image_code_paths_beam_args_and_cache(vertex_dry_run):
    tasks = v2_tasks(vertex_dry_run.text)
    containers = {name: t['executor']['container'] for name, t in tasks.items() if 'container' in t['executor']}
    assert set(EDGES) <= set(containers)
    for name, container in containers.items():
        assert container['image'] == IMAGE, name
        assert tasks[name]['cachingOptions'] == {'enableCache': True}, name
    assert v2_constant(tasks['Trainer'], 'run_fn') == TRAINER_RUN_FN
    assert v2_constant(tasks['Transform'], 'preprocessing_fn') == HOUSING.preprocessing_fn
    assert v2_constant(tasks['ImportSchemaGen'], 'schema_file') == \
        f'{IMAGE_SITE}/tfx_keras_estimator/schemas/housing.pbtxt'
    for name in BEAM_COMPONENTS:
        assert {'--direct_running_mode=in_memory', f'--extra_package={image_wheel()}'} <= set(containers[name]['args'])
        assert_user_beam_arg_last(containers[name]['args'], name)


def test_vertex_runtime_parameters(vertex_dry_run):
    spec = json.loads(vertex_dry_run.text)
    declared = spec['pipelineSpec']['root']['inputDefinitions']['parameters']
    assert declared == {name: {'type': 'STRING'} for name in ('data-root', 'train-args', 'eval-args')}
    defaults = {k: v['stringValue'] for k, v in spec['runtimeConfig']['parameters'].items()}
    assert defaults == {'data-root': f'{IMAGE_SITE}/tfx_keras_estimator/components/recipes/housing/data',
                        'train-args': f'{{"num_steps": {HOUSING.train_steps}}}',
                        'eval-args': f'{{"num_steps": {HOUSING.eval_steps}}}'}
    assert spec['runtimeConfig']['gcsOutputDirectory'] == PIPELINE_ROOT
    tasks = v2_tasks(vertex_dry_run.text)
    assert tasks['Trainer']['inputs']['parameters']['train_args'] == {'componentInputParameter': 'train-args'}
    assert tasks['CsvExampleGen']['inputs']['parameters']['input_base'] == {'componentInputParameter': 'data-root'}


def test_vertex_scale_out(vertex_scale_out_spec):
    """Dataflow for the Beam components, Vertex AI Training for the Trainer, a Vertex endpoint for Pusher."""
    tasks = v2_tasks(vertex_scale_out_spec.text)
    containers = {name: t['executor'].get('container') for name, t in tasks.items()}
    for name in BEAM_COMPONENTS:
        args = containers[name]['args']
        assert {'--runner=DataflowRunner', '--project=tke-project', f'--region={REGION}',
                '--temp_location=gs://tke-test-bucket/dataflow-tmp', f'--sdk_container_image={IMAGE}',
                '--machine_type=n1-standard-4', '--num_workers=2', '--max_num_workers=8',
                '--experiments=use_runner_v2', '--experiments=shuffle_mode=service',
                '--no_use_public_ips'} <= set(args), name
        # The cloud config's extra_args after its keys, and tke's --beam-arg after all of them.
        assert args[-2:] == ['--no_use_public_ips', '--max_num_workers=16'], name
        assert not any(a.startswith(('--direct_running_mode', '--setup_file', '--extra_package')) for a in args), name
    trainer_args = containers['Trainer']['args']
    assert _arg(trainer_args, '--executor_class_path') == \
        'tfx.extensions.google_cloud_ai_platform.trainer.executor.GenericExecutor'
    custom = json.loads(v2_constant(tasks['Trainer'], 'custom_config'))
    assert custom['tke_trainer']['name'] == 'taxi' and custom['tke_trainer']['task']['label_key'] == 'tips'
    assert custom['ai_platform_enable_vertex'] is True and custom['ai_platform_vertex_region'] == REGION
    pools = custom['ai_platform_training_args']['job_spec']['worker_pool_specs']
    # Vertex's pools 0-3: chief, workers, parameter servers, evaluator (TF_CONFIG task types in that order).
    assert [p['replica_count'] for p in pools] == [1, 2, 1, 1]
    assert [p['machine_spec']['machine_type'] for p in pools] == [
        'n1-standard-8', 'n1-standard-8', 'n1-highmem-4', 'n1-standard-4']
    # The GPU chief: its accelerator type and count, on the chief's pool only.
    assert pools[0]['machine_spec'] == {'machine_type': 'n1-standard-8', 'accelerator_type': 'NVIDIA_TESLA_T4',
                                        'accelerator_count': 1}
    assert not any('accelerator_type' in p['machine_spec'] for p in pools[1:])
    assert {p['container_spec']['image_uri'] for p in pools} == {IMAGE}
    assert _arg(containers['Pusher']['args'], '--executor_class_path') == \
        'tfx.extensions.google_cloud_ai_platform.pusher.executor.Executor'
    serving = json.loads(v2_constant(tasks['Pusher'], 'custom_config'))['ai_platform_serving_args']
    assert serving['endpoint_name'] == 'tke-housing' and serving['project_id'] == 'tke-project'
    # --no-cache
    assert all(not t.get('cachingOptions', {}).get('enableCache') for t in tasks.values())


def test_vertex_canned_baseline(vertex_scale_out_spec):
    """--canned-baseline: a second Trainer (canned mode, on Vertex AI Training too) and the comparison."""
    tasks = v2_tasks(vertex_scale_out_spec.text)
    assert {'CsvExampleGen', 'Transform', 'ImportSchemaGen'} <= _upstream(tasks['CannedTrainer'])
    assert {'Trainer', 'CannedTrainer', 'CsvExampleGen'} <= _upstream(tasks['CannedComparison'])
    custom = json.loads(v2_constant(tasks['CannedTrainer'], 'custom_config'))
    assert custom['tke_trainer']['mode'] == 'canned' and custom['ai_platform_enable_vertex'] is True
    # The comparison gates nothing: the Pusher takes the gating Evaluator's blessing only.
    assert 'CannedComparison' not in tasks['Pusher'].get('dependentTasks', [])


# --- nothing of this machine, nothing secret ----------------------------------------------------

SECRET_PATTERNS = [r'BEGIN [A-Z ]*PRIVATE KEY', r'"private_key"', r'access_token', r'refresh_token', r'password',
                   r'ya29\.', r'AIza[0-9A-Za-z_-]{20}', r'client_secret']
LOCAL_PATH = re.compile(r'(?<![\w.:/-])/(work|tmp|root|home|Users)/')


@pytest.mark.parametrize('fixture', ['kubeflow_spec', 'vertex_dry_run', 'vertex_scale_out_spec'])
def test_no_secrets_or_paths_of_this_machine(fixture, request):
    compiled = request.getfixturevalue(fixture)
    text = compiled.text
    for local in {str(REPO_ROOT), str(Path.home()), sys.prefix, str(kfp_venv()), str(compiled.path.parent)}:
        assert local not in text, local
    assert not LOCAL_PATH.search(text), LOCAL_PATH.search(text)
    for pattern in SECRET_PATTERNS:
        assert not re.search(pattern, text, re.IGNORECASE), pattern
