"""``tke migrate-check``: is it safe to move a recipe from the legacy stack (TFX 1.15, the Estimator)
to the modern one (TFX >= 1.16, native Keras)?

It trains the recipe on both stacks, on the same data and the same split (ExampleGen's hash split:
the same rules on both), each stack's ``tke run`` in its own environment as a subprocess, each into
a run directory of its own (a run directory belongs to one stack: the ML Metadata of one must not
open the other's store). Each environment then summarizes its own run (``summarize``, run there
too): the Evaluator's metrics, the verdict, the pushed model's signatures as its saved_model.pb
declares them, and its predictions on the legacy run's eval split (the same rows in the same order
for both). Printed and written side by side (``migrate-check.json``, ``migrate-check.txt``):

- the gate metric and every eval metric of both;
- the serving contract: every signature of the legacy export, its method, inputs and outputs with
  their dtypes and shapes, must be in the modern export unchanged (the modern one may have more:
  ``transform_features``, which TFX >= 1.16's Evaluator reads);
- prediction agreement on the eval split: max and mean absolute difference (regression, and the
  probabilities of classifiers), the share of rows given the same class (classification).

The verdict: safe to switch when the contract is kept, the modern model is blessed, and its gate
metric is no worse than the legacy model's by more than the recipe's own change tolerance (the rule
a new model is held to against the last blessed one). Predictions of two separately trained
models differ: agreement informs, the gate decides.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from tfx_keras_estimator.components.trainer import stack

COMMAND = 'migrate-check'
SUMMARY_FILE = 'summary.json'
REPORT_JSON = 'migrate-check.json'
REPORT_TEXT = 'migrate-check.txt'
# Signatures TF writes that no client calls (TF2's init op).
_INTERNAL_SIGNATURES = ('__saved_model_init_op',)
# The environment of each stack beside this one's, by the names `make venv` and `make venv-modern` give.
VENV_NAMES = {stack.LEGACY: '.venv', stack.MODERN: '.venv-modern'}


def signature_contract(saved_model_dir: str) -> Dict[str, Any]:
    """The signatures a SavedModel declares (its saved_model.pb, read as a proto): per key, the
    method name and each input and output's dtype and shape."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString(Path(saved_model_dir, 'saved_model.pb').read_bytes())
    (meta_graph,) = [m for m in proto.meta_graphs if 'serve' in m.meta_info_def.tags]

    def tensors(infos) -> Dict[str, Any]:
        return {name: {'dtype': types_pb2.DataType.Name(info.dtype),
                       'shape': None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim]}
                for name, info in sorted(infos.items())}

    return {key: {'method': sig.method_name, 'inputs': tensors(sig.inputs), 'outputs': tensors(sig.outputs)}
            for key, sig in sorted(meta_graph.signature_def.items()) if key not in _INTERNAL_SIGNATURES}


def compare_contracts(legacy: Dict[str, Any], modern: Dict[str, Any]) -> List[str]:
    """What a client of the legacy export would find changed in the modern one (empty: nothing)."""
    differences = []
    for key, signature in legacy.items():
        if key not in modern:
            differences.append(f'signature {key!r} is missing')
            continue
        for part in ('method', 'inputs', 'outputs'):
            if signature[part] != modern[key][part]:
                differences.append(f'signature {key!r}: {part} {signature[part]} became {modern[key][part]}')
    return differences


def summarize(run_dir: str, pipeline_name: str, examples: Sequence[str]) -> Dict[str, Any]:
    """This environment's account of its own run: metrics, verdict, contract, predictions on ``examples``."""
    import numpy as np
    import tensorflow as tf

    from tfx_keras_estimator.pipelines.app.local_runner import existing_run
    from tfx_keras_estimator.pipelines.app.report import latest_run

    paths = existing_run(Path(run_dir))  # refuses a run directory of the other stack
    report = latest_run(str(paths.metadata_path), pipeline_name)
    if report is None or not report.pushed_model:
        raise ValueError(f'{run_dir}: the last run of {pipeline_name} pushed no model')
    description = json.loads(Path(report.pushed_model, 'assets.extra', 'tke_model.json').read_text())
    serve = tf.saved_model.load(report.pushed_model).signatures['serving_default']
    records = tf.data.TFRecordDataset(list(examples), compression_type='GZIP').batch(1024)
    predictions = np.concatenate([serve(examples=batch)[description['prediction_key']].numpy() for batch in records])
    return {'stack': stack.describe(), 'run_dir': str(paths.run_dir), 'metrics': report.metrics,
            'gated_metric': report.gated_metric, 'blessed': report.blessed, 'pushed_model': report.pushed_model,
            'task': description['task'], 'contract': signature_contract(report.pushed_model),
            'predictions': predictions.reshape(len(predictions), -1).tolist()}


def eval_split_files(run_dir: Path) -> List[str]:
    """The eval split ExampleGen wrote in the newest run of ``run_dir`` (its newest execution)."""
    # CsvExampleGen, or ImportExampleGen for a recipe of TFRecord files.
    (examples,) = [p for p in (run_dir / 'pipeline').glob('*ExampleGen/examples')]
    executions = sorted(examples.iterdir(), key=lambda p: int(p.name))
    files = sorted(str(p) for p in (executions[-1] / 'Split-eval').iterdir())
    if not files:
        raise ValueError(f'{run_dir}: no eval split written by ExampleGen')
    return files


def agreement(task: str, legacy: List[List[float]], modern: List[List[float]]) -> Dict[str, float]:
    """How alike two models' predictions on the same rows are."""
    import numpy as np

    a, b = np.asarray(legacy, dtype=float), np.asarray(modern, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f'the two models answered {a.shape} and {b.shape} predictions for the same rows')
    result = {'rows': int(a.shape[0]), 'max_abs_diff': float(np.abs(a - b).max()),
              'mean_abs_diff': float(np.abs(a - b).mean())}
    if task != 'regression':
        classes = (lambda p: (p[:, 0] >= 0.5).astype(int)) if a.shape[1] == 1 else (lambda p: p.argmax(axis=1))
        result['same_class_share'] = float((classes(a) == classes(b)).mean())
    return result


def verdict(legacy: Dict[str, Any], modern: Dict[str, Any], contract: List[str], gate: Any) -> tuple[bool, str]:
    """Safe to switch, and why (or why not)."""
    metric = gate.metric
    old, new = legacy['metrics'].get(metric), modern['metrics'].get(metric)
    if contract:
        return False, f'the serving contract changed ({len(contract)} difference(s))'
    if not modern['blessed']:
        return False, 'the modern model was not blessed'
    if old is None or new is None:
        return False, f'the gate metric {metric!r} is missing from a run'
    worse = (old - new) if gate.higher_is_better else (new - old)
    if worse > gate.change_tolerance:
        return False, (f'{metric} {new:.4g} on the modern stack is worse than {old:.4g} by {worse:.4g}, more '
                       f'than the gate\'s change tolerance {gate.change_tolerance}')
    return True, (f'same serving contract; modern model blessed; {metric} {new:.4g} vs {old:.4g} (within the '
                  f'gate\'s change tolerance {gate.change_tolerance})')


def other_python(given: Optional[str]) -> str:
    """The other stack's Python: ``--other-python``, else the environment beside this one."""
    other = stack.LEGACY if stack.current() == stack.MODERN else stack.MODERN
    if given:
        return given
    candidate = Path(sys.prefix).parent / VENV_NAMES[other] / 'bin' / 'python'
    if not candidate.is_file():
        raise ValueError(f'no {other} environment at {candidate.parent.parent} beside this one ({sys.prefix}); '
                         f'make it ({stack.HOW_TO[other]}) or name its Python with --other-python')
    return str(candidate)


def environment() -> Dict[str, str]:
    """This process's environment without the Keras choice, which each stack makes for itself
    (TensorFlow 2.15 would look for tf_keras where the modern stack asks for it)."""
    return {k: v for k, v in os.environ.items() if k != 'TF_USE_LEGACY_KERAS'}


def _run_in(python: str, args: Sequence[str], log: Path) -> None:
    with log.open('w') as out:
        code = subprocess.call([python, '-m', 'tfx_keras_estimator.pipelines.app.cli', *args], stdout=out,
                               stderr=subprocess.STDOUT, env=environment())
    if code != 0:
        raise RuntimeError(f'{" ".join(args[:1])} in {python} failed (exit {code}); its output: {log}')


def _summary_in(python: str, run_dir: Path, pipeline_name: str, examples: Sequence[str], out: Path) -> Dict[str, Any]:
    with out.with_suffix('.log').open('w') as log:
        code = subprocess.call([python, '-m', 'tfx_keras_estimator.pipelines.app.migrate', 'summarize',
                                str(run_dir), pipeline_name, str(out), *examples], stdout=subprocess.DEVNULL,
                               stderr=log, env=environment())
    if code != 0:
        raise RuntimeError(f'summarizing {run_dir} in {python} failed (exit {code}): {out.with_suffix(".log")}')
    return json.loads(out.read_text())


def _format(recipe_name: str, legacy: Dict[str, Any], modern: Dict[str, Any], contract: List[str],
            agree: Dict[str, float], safe: bool, why: str) -> str:
    lines = [f'migrate-check {recipe_name}: legacy = {legacy["stack"]}; modern = {modern["stack"]}',
             f'  {"metric":<22} {"legacy":>12} {"modern":>12}']
    names = set(legacy['metrics']) | set(modern['metrics'])
    # TFMA's own count of an EvalSavedModel's examples: the same as example_count, shown once.
    for name in sorted(n for n in names if not (n.startswith('post_export_metrics/') and n.split('/')[-1] in names)):
        mark = '  (gate)' if name == legacy['gated_metric'] else ''
        values = [f'{m["metrics"][name]:.4g}' if name in m['metrics'] else '–' for m in (legacy, modern)]
        lines.append(f'  {name:<22} {values[0]:>12} {values[1]:>12}{mark}')
    lines.append(f'  {"blessed":<22} {str(legacy["blessed"]):>12} {str(modern["blessed"]):>12}')
    lines.append('  serving contract: ' + ('the same: every legacy signature, method, input and output kept'
                                             if not contract else '; '.join(contract)))
    extra = sorted(set(modern['contract']) - set(legacy['contract']))
    if extra:
        lines.append(f'    (the modern export has besides: {", ".join(extra)})')
    shown = ', '.join(f'{k} {v:.4g}' if isinstance(v, float) else f'{k} {v}' for k, v in agree.items())
    lines.append(f'  predictions on the eval split: {shown}')
    lines.append(f'  verdict: {"SAFE TO SWITCH" if safe else "NOT YET"}: {why}')
    return '\n'.join(lines)


def migrate_check(recipe: str, output: Path, run_args: Sequence[str], given_other_python: Optional[str]) -> bool:
    """Both stacks' runs, summaries and comparison; returns whether it is safe to switch."""
    from tfx_keras_estimator.components.recipes.lookup import load_recipe

    loaded = load_recipe(recipe)
    pythons = {stack.current(): sys.executable}
    pythons[stack.LEGACY if stack.current() == stack.MODERN else stack.MODERN] = other_python(given_other_python)
    output.mkdir(parents=True, exist_ok=True)
    summaries = {}
    for name in (stack.LEGACY, stack.MODERN):
        run_dir = output / name
        print(f'  {name}: tke run --recipe {recipe} in {pythons[name]} -> {run_dir}', flush=True)
        _run_in(pythons[name], ['run', '--recipe', recipe, '--output', str(run_dir), *run_args],
                output / f'{name}-run.log')
    examples = eval_split_files(output / stack.LEGACY)
    pipeline_name = f'tke-{loaded.name}'
    for name in (stack.LEGACY, stack.MODERN):
        summaries[name] = _summary_in(pythons[name], output / name, pipeline_name, examples,
                                      output / f'{name}-{SUMMARY_FILE}')
    legacy, modern = summaries[stack.LEGACY], summaries[stack.MODERN]
    contract = compare_contracts(legacy['contract'], modern['contract'])
    agree = agreement(legacy['task'], legacy['predictions'], modern['predictions'])
    safe, why = verdict(legacy, modern, contract, loaded.gate)
    text = _format(loaded.name, legacy, modern, contract, agree, safe, why)
    print(text)
    (output / REPORT_TEXT).write_text(text + '\n')
    strip = ('predictions',)
    (output / REPORT_JSON).write_text(json.dumps({
        'recipe': loaded.name, 'safe_to_switch': safe, 'why': why, 'contract_differences': contract,
        'agreement': agree, **{name: {k: v for k, v in s.items() if k not in strip} for name, s in summaries.items()},
    }, indent=1) + '\n')
    print(f'  written: {output / REPORT_TEXT}, {output / REPORT_JSON}')
    return safe


def add_subcommand(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Registers ``tke migrate-check`` on the ``tke`` subparsers."""
    parser = sub.add_parser(
        COMMAND, help='train a recipe on the legacy and the modern stack and say whether it is safe to switch',
        description='Train RECIPE on the legacy stack (TFX 1.15, the Estimator) and on the modern one (TFX >= 1.16, '
                    'native Keras), on the same data and split, each in its own environment, and compare: every eval '
                    'metric, the serving contract (signatures, methods, inputs, outputs, dtypes) and the predictions '
                    'on the eval split; then a verdict by the recipe\'s gate.',
        epilog='Exit status: 0 safe to switch; 3 not yet (the verdict says why); 2 bad input; 1 a run failed.')
    parser.add_argument('--recipe', required=True, help='the recipe (a built-in name or a recipe folder)')
    parser.add_argument('--data', metavar='DIR', help="the data folder (default: the recipe's)")
    parser.add_argument('--train-steps', type=int, metavar='N', help="training steps (default: the recipe's)")
    parser.add_argument('--eval-steps', type=int, metavar='N', help="evaluation steps (default: the recipe's)")
    parser.add_argument('--output', metavar='DIR', help='where both runs and the comparison go '
                        '(default: runs/migrate-<recipe>)')
    parser.add_argument('--other-python', metavar='PATH', help="the other stack's Python (default: the "
                        f"environment beside this one: {VENV_NAMES[stack.LEGACY]} or {VENV_NAMES[stack.MODERN]})")
    return parser


def run(args: argparse.Namespace) -> int:
    from tfx_keras_estimator.pipelines.config import EXIT_BAD_INPUT

    run_args: List[str] = []
    for flag, value in (('--data', args.data and str(Path(args.data).resolve())), ('--train-steps', args.train_steps),
                        ('--eval-steps', args.eval_steps)):
        if value is not None:
            run_args += [flag, str(value)]
    output = Path(args.output or Path('runs') / f'migrate-{Path(args.recipe).name}').resolve()
    try:
        safe = migrate_check(args.recipe, output, run_args, args.other_python)
    except ValueError as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    except RuntimeError as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return 1
    return 0 if safe else 3


def _main(argv: Sequence[str]) -> int:
    """``summarize RUN_DIR PIPELINE_NAME OUT_JSON EXAMPLE_FILE...``: run in each stack's environment."""
    if len(argv) < 4 or argv[0] != 'summarize':
        print('usage: python -m tfx_keras_estimator.pipelines.app.migrate summarize RUN_DIR PIPELINE_NAME OUT_JSON '
              'EXAMPLE_FILE...', file=sys.stderr)
        return 2
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    summary = summarize(argv[1], argv[2], argv[4:])
    Path(argv[3]).write_text(json.dumps(summary))
    return 0


if __name__ == '__main__':
    sys.exit(_main(sys.argv[1:]))
