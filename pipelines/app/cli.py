"""The ``tke`` command line: run a recipe's pipeline locally, list recipes."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, TextIO

from tfx_keras_estimator.components.recipes.lookup import DEFAULT_RECIPE, HOW_TO_NAME, get_recipe, recipe_names
from tfx_keras_estimator.components.trainer.progress import PROGRESS_LOGGER
from tfx_keras_estimator.components.trainer.progress import RECORD_ATTR as PROGRESS_RECORD_ATTR
from tfx_keras_estimator.components.trainer.weights import WEIGHTS_FILE, top_weights
from tfx_keras_estimator.kubeflow import cli as kubeflow_cli
from tfx_keras_estimator.pipelines.app import migrate
from tfx_keras_estimator.pipelines.app import predict as predict_cli
from tfx_keras_estimator.pipelines.app.local_runner import (
    BEAM_MODES,
    LocalRunConfig,
    NotARunDirectory,
    OtherStackRunDirectory,
    RunDirectoryBusy,
    RunPaths,
    check_stack,
    existing_run,
    prepare,
    run_lock,
    run_pipeline,
)
from tfx_keras_estimator.pipelines.config import ANOMALY_GATE_SETTINGS, EXIT_BAD_INPUT

EXIT_RUN_FAILED = 1
INIT_TASKS = {'regression': 'regression', 'binary': 'binary_classification',
              'multiclass': 'multiclass_classification'}
RECIPE_HELP = (f'a built-in recipe (default: {DEFAULT_RECIPE}; `tke recipes` lists them), a dotted path to a Recipe '
               'object (my_pkg.recipes:CHURN), or a recipe folder (./my_recipe with recipe.toml and schema.pbtxt)')


def _parse_hparam(text: str) -> tuple:
    key, sep, value = text.partition('=')
    if not sep or not key:
        raise argparse.ArgumentTypeError(f'expected KEY=VALUE, got {text!r}')
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='tke',
        description='Keras models trained through model_to_estimator in a TFX pipeline '
                    '(ExampleGen -> StatisticsGen -> schema -> ExampleValidator -> Transform -> '
                    'Trainer -> Evaluator -> Pusher).')
    sub = parser.add_subparsers(dest='command', required=True)

    sub.add_parser('recipes', help='list the built-in recipes, and how to name others',
                   description='List the built-in recipes, and how to name others.')

    run = sub.add_parser(
        'run', help="run a recipe's pipeline locally (LocalDagRunner, SQLite metadata, Beam DirectRunner)",
        description="Run a recipe's pipeline locally. Everything goes under one run directory: "
                    'pipeline artifacts, metadata.sqlite, pushed models (serving/) and the log (tke.log). '
                    'The Beam components run on the DirectRunner here, or on the runner --beam-arg names '
                    '(e.g. --beam-arg=--runner=DataflowRunner ...): the orchestration stays here.')
    run.add_argument('--recipe', default=DEFAULT_RECIPE, metavar='RECIPE', help=RECIPE_HELP)
    run.add_argument('--data', metavar='DIR',
                     help="folder of CSV files with the recipe's columns, or of *.tfrecord* files of tf.Examples "
                          "for a TFRecord recipe such as mobilenet (default: the recipe's own data folder)")
    run.add_argument('--train-steps', type=int, metavar='N', help="training steps (default: the recipe's)")
    run.add_argument('--eval-steps', type=int, metavar='N', help="evaluation steps (default: the recipe's)")
    run.add_argument('--output', metavar='DIR',
                     help='run directory (default: runs/<recipe name> in the current folder)')
    run.add_argument('--beam-arg', action='append', default=[], metavar='ARG', help=kubeflow_cli.BEAM_ARG_HELP)
    run.add_argument('--beam-mode', choices=BEAM_MODES, default='auto',
                     help='Beam DirectRunner mode (only with the DirectRunner); auto: in_memory for data under 256 MB, '
                          'else multi_threading (a worker thread per core, one process); '
                          'multi_processing: a worker process per core, more memory (default: auto)')
    run.add_argument('--model-builder', metavar='DOTTED.PATH',
                     help='your own Keras model builder, build(tf_transform_output, hparams) -> '
                          "tf.keras.Model, instead of the recipe's (an installed module, or one in the current "
                          'folder, as with python -m)')
    run.add_argument('--hparam', action='append', type=_parse_hparam, default=[], metavar='KEY=VALUE',
                     help='override a hyperparameter (JSON value), e.g. --hparam learning_rate=0.01; repeatable')
    run.add_argument('--mode', choices=('estimator', 'keras-fit'), default='estimator',
                     help='estimator: train the converted model with train_and_evaluate (default); keras-fit: '
                     'Keras fit with EarlyStopping and ModelCheckpoint, then convert the best model '
                     '(hparams steps_per_epoch, early_stopping_patience)')
    run.add_argument('--keras-model', metavar='PATH',
                     help='convert this saved, trained Keras model (.h5, .keras or SavedModel folder) instead of '
                     "training one; it must take the recipe's transformed features")
    run.add_argument('--allow-unsafe-keras-file', action='store_true',
                     help='load --keras-model even if it holds Python code (Lambda layers), which loading runs')
    run.add_argument('--transform-materialize', choices=('on', 'off'), default='off',
                     help="on: Transform writes transformed examples and the Trainer reads them (worth it when "
                          "the transform is costly and training makes many passes); off: the Trainer applies "
                          "the transform graph to the raw examples as it reads them, one pass over the data "
                          "less (default: off)")
    run.add_argument('--canned-baseline', action='store_true',
                     help="also train the recipe's pre-made Estimator (LinearRegressor/LinearClassifier or DNN) on "
                     'the same data and show its metrics beside the Keras model\'s')
    run.add_argument('--warm-start', action='store_true',
                     help='warm-start the Trainer from the latest model of this run directory')
    run.add_argument('--anomaly-gate', choices=ANOMALY_GATE_SETTINGS, default='error',
                     help='stop before Transform when ExampleValidator finds anomalies of this severity '
                          'or worse (default: error)')
    run.add_argument('--no-cache', action='store_true', help='run every component even if nothing changed')
    run.add_argument('--keep-runs', type=int, metavar='N',
                     help='after the run, remove the artifacts of all but the last N runs (as tke gc --keep N)')
    run.add_argument('--verbose', action='store_true',
                     help='show TensorFlow/absl/Beam logs on the terminal instead of only in tke.log')
    gc = sub.add_parser(
        'gc', help='remove the artifacts of all but the last N runs of a run directory',
        description='Remove the artifacts of all but the last N runs of a run directory: never those a kept run '
                    'reads, those of a model still in serving/, or the latest blessed model (the next baseline). '
                    'Removed artifacts are marked DELETED in the metadata store, so TFX never uses them again.')
    gc.add_argument('run_dir', nargs='?', default=f'runs/{DEFAULT_RECIPE}', metavar='RUN_DIR',
                    help=f'the run directory (default: runs/{DEFAULT_RECIPE})')
    gc.add_argument('--keep', type=int, required=True, metavar='N', help='how many of the latest runs to keep')
    gc.add_argument('--dry-run', action='store_true', help='list what would be removed, and its size; remove nothing')
    init = sub.add_parser(
        'init', help='write a recipe folder for a CSV of your own (schema, roles, task, gate)',
        description='Infer a recipe from a CSV file (or a folder of CSV files with one header) and a label column: '
                    'the schema (TFDV, curated), each column\'s role, the task and classes, a gate and step counts. '
                    'Writes DIR/recipe.toml, DIR/schema.pbtxt and DIR/data/ (a copy of the data).')
    init.add_argument('--data', required=True, metavar='CSV_FILE_OR_DIR')
    init.add_argument('--label', required=True, metavar='COLUMN', help='the column to predict')
    init.add_argument('--task', choices=sorted(INIT_TASKS), help='default: from the label (strings or few integers: '
                      'classification; other numbers: regression)')
    init.add_argument('--output', metavar='DIR', help='the recipe folder to write (default: ./<name>)')
    init.add_argument('--name', help='the recipe\'s name (default: from the CSV file or folder name)')
    init.add_argument('--force', action='store_true', help='replace --output if it exists')
    report = sub.add_parser(
        'report', help="rebuild a run directory's report.html (tke run writes it after every run)",
        description='Write RUN_DIR/report.html for the latest run of a run directory: the run, the data (statistics '
                    'and anomalies), the training curves, the evaluation (per slice, beside the last blessed model '
                    'and the pre-made Estimator), the pushed model and the history. One self-contained file.')
    report.add_argument('run_dir', nargs='?', metavar='RUN_DIR', help=RUN_DIR_HELP)
    runs = sub.add_parser(
        'runs', help='one line per run of a run directory: time, recipe, metric, verdict, push',
        description="List the runs in a run directory's metadata store, oldest first: start time, recipe, the gated "
                    'metric, blessed or not, the pushed version, cached components.')
    runs.add_argument('run_dir', nargs='?', metavar='RUN_DIR', help=RUN_DIR_HELP)
    board = sub.add_parser(
        'tensorboard', help='start TensorBoard on every training of a run directory',
        description='Start TensorBoard (installed with TensorFlow) on every Trainer execution of a run directory, '
                    'each named by its run (run3-Trainer), and print the URL. Runs until interrupted.')
    board.add_argument('run_dir', nargs='?', metavar='RUN_DIR', help=RUN_DIR_HELP)
    board.add_argument('--host', default='127.0.0.1', help='address to listen on (default: 127.0.0.1, this machine '
                       'only; 0.0.0.0 for every interface)')
    board.add_argument('--port', type=int, default=6006, help='port (default: 6006)')
    predict_cli.add_subcommand(sub)
    migrate.add_subcommand(sub)
    kubeflow_cli.add_subcommands(sub)  # compile, submit
    return parser


RUN_DIR_HELP = ('the run directory (default: the most recently used one under ./runs, else '
                f'runs/{DEFAULT_RECIPE})')


def default_run_dir(cwd: Optional[Path] = None) -> Path:
    """The run directory under ./runs whose metadata store changed last, else runs/<default recipe>."""
    runs = (cwd or Path.cwd()) / 'runs'
    stores = [RunPaths(p).metadata_path for p in runs.iterdir()] if runs.is_dir() else []
    used = sorted((s for s in stores if s.is_file()), key=lambda s: s.stat().st_mtime)
    return used[-1].parent if used else runs / DEFAULT_RECIPE


class _Progress(logging.Handler):
    """Turns LocalDagRunner's log lines into one terminal line per component, and the
    Trainer's progress records (components/trainer/progress.py) into that line's tail
    on a TTY, or into a plain line every ``PLAIN_EVERY_SECS`` otherwise (CI logs)."""

    PLAIN_EVERY_SECS = 10.0
    CLEAR = '\x1b[K'

    def __init__(self, out: TextIO) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.started: Dict[str, float] = {}
        self.running: Optional[str] = None
        self.cached = False
        self.tty = out.isatty()
        self.plain_at = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        progress = getattr(record, PROGRESS_RECORD_ATTR, None)
        if progress is not None:
            self._training(progress)
            return
        msg = record.msg if isinstance(record.msg, str) else ''
        if msg == 'Component %s is running.':
            node = record.args[0]
            self.started[node] = time.monotonic()
            self.running = node
            self.cached = False
            self.out.write(f'  {node:<32} running...' + ('' if self.tty else '\n'))
            self.out.flush()
        elif msg.startswith('A cached execution'):
            self.cached = True
        elif msg == 'Component %s is finished.':
            node = record.args[0]
            self.running = None
            took = time.monotonic() - self.started.get(node, time.monotonic())
            note = 'cached' if self.cached else 'done'
            start = '\r' if self.tty else ''
            self.out.write(f'{start}  {node:<32} {note:<10} {took:6.1f} s' + (self.CLEAR if self.tty else '') + '\n')
            self.out.flush()

    def _training(self, progress) -> None:
        if self.tty:
            self.out.write(f'\r  {self.running or "Trainer":<32} {progress.line()}{self.CLEAR}')
        else:
            now = time.monotonic()
            if now - self.plain_at < self.PLAIN_EVERY_SECS and progress.fraction < 1.0:
                return
            self.plain_at = now
            self.out.write(f'    training: {progress.line()}\n')
        self.out.flush()


def _redirect_logs(log_path: Path, verbose: bool) -> Optional[TextIO]:
    """Sends Python, absl, Beam and TensorFlow (C++) logs to ``log_path``.

    Returns a stream on the original stderr for our own error messages.
    """
    import absl.logging

    # INFO, so TFX's progress lines exist; set through absl, because TensorFlow
    # restores absl's verbosity (not the logger's level) after muting it.
    absl.logging.set_verbosity(absl.logging.INFO)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if verbose:
        return sys.stderr
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, 'a', buffering=1)  # noqa: SIM115 - lives as long as the process
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(log_file)
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname).1s %(name)s] %(message)s'))
    root.addHandler(handler)
    sys.stderr.flush()
    terminal = os.fdopen(os.dup(2), 'w', buffering=1)
    os.dup2(log_file.fileno(), 2)
    sys.stderr = log_file
    return terminal


def _identifier(text: str) -> str:
    name = ''.join(c if c.isalnum() else '_' for c in text.lower()).strip('_') or 'my_recipe'
    return name if name[0].isalpha() else f'r_{name}'


def _cmd_init(args: argparse.Namespace) -> int:
    from tfx_keras_estimator.pipelines.app import init as initializing

    data = Path(args.data)
    name = args.name or _identifier(data.stem if data.is_file() else data.resolve().name)
    output = Path(args.output or _identifier(name))
    try:
        # The arguments first: a wrong --output or --task is said before a large CSV is read.
        initializing.check_arguments(args.label, INIT_TASKS.get(args.task), output, args.force)
        inference = initializing.infer(data, args.label, INIT_TASKS.get(args.task))
        print(f'{len(inference.files)} file(s), {inference.rows} rows, {len(inference.header)} columns '
              f'({", ".join(str(f) for f in inference.files)})')
        if inference.unlabeled:
            print(f'{inference.unlabeled} row(s) have no {inference.label!r} (empty or a missing token; '
                  f'{inference.unlabeled_where()}...): left out of the recipe\'s data, nothing can be trained on them')
        for line in initializing.report_lines(inference):
            print(line)
        classes = ''
        if inference.classes:
            classes = f'; classes {list(inference.classes)}'
            if inference.task == 'binary_classification':
                classes += f' (positive class {inference.classes[1]!r})'
        print(f'task: {inference.task} on {inference.label!r}{classes}')
        gate = inference.gate
        print(f'gate: {gate.metric} {">=" if gate.higher_is_better else "<="} {gate.bound} (a constant prediction), '
              f'within {gate.change_tolerance} of the last blessed model; {inference.train_steps} train steps of '
              f'{inference.batch_size}, {inference.eval_steps} eval steps')
        written = initializing.write_recipe(inference, output, name, force=args.force)
    except ValueError as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f'wrote {written}/recipe.toml, schema.pbtxt, data/')
    print(f'next: tke run --recipe {output}')
    return 0


DISK_FULL_MARKS = ('no space left on device', 'database or disk is full', 'disk quota exceeded')


def disk_full(error: BaseException, run_dir: Path) -> Optional[str]:
    """A message naming the run directory when ``error`` (or what caused it) is a full disk, else None.

    Components report a full disk in their own words (OSError ENOSPC, TensorFlow's write
    errors, SQLite's "database or disk is full"); the file system's free space says the rest.
    """
    seen = set()
    chain: Optional[BaseException] = error
    found = False
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if getattr(chain, 'errno', None) in (errno.ENOSPC, errno.EDQUOT) or any(
                mark in str(chain).lower() for mark in DISK_FULL_MARKS):
            found = True
            break
        chain = chain.__cause__ or chain.__context__
    try:
        usage = shutil.disk_usage(run_dir)
    except OSError:
        usage = None
    if not found and (usage is None or usage.free > 1_000_000):
        return None
    space = f' ({_mb(usage.free)} free of {_mb(usage.total)})' if usage else ''
    return (f'the file system of the run directory {run_dir} is full{space}: {type(error).__name__}: '
            f'{str(error).splitlines()[0] if str(error) else ""}. Free some space (tke gc {run_dir} --keep N '
            'removes the artifacts of old runs) or choose another --output.')


def _mb(n: int) -> str:
    return f'{n / 1e6:.1f} MB'


def _gc(run_dir: Path, keep: int, dry_run: bool, out: TextIO) -> None:
    from tfx_keras_estimator.pipelines.app.retention import apply_gc, plan_gc

    plan = plan_gc(run_dir, keep)
    verb = 'would remove' if dry_run else 'removed'
    if dry_run:
        for removal in plan.removals:
            out.write(f'  {removal.type_name:<18} {_mb(removal.bytes):>10}  {removal.uri}\n')
    else:
        apply_gc(run_dir, plan)
    out.write(f'gc {run_dir}: {plan.runs} run(s), keeping the last {len(plan.kept_runs)}; {verb} '
              f'{len(plan.removals)} artifact(s), {_mb(plan.bytes)}; {plan.kept_artifacts} artifact(s) kept\n')


def _cmd_gc(args: argparse.Namespace) -> int:
    paths = RunPaths(Path(args.run_dir).resolve())
    try:
        check_stack(paths)
        with run_lock(paths):
            _gc(paths.run_dir, args.keep, args.dry_run, sys.stdout)
    except (ValueError, RunDirectoryBusy) as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _cmd_recipes() -> int:
    for name in recipe_names():
        recipe = get_recipe(name)
        default = ' (default)' if name == DEFAULT_RECIPE else ''
        print(f'{name:<10} {recipe.description}{default}')
    print(f'\n{HOW_TO_NAME}')
    return 0


def _fmt(value: float) -> str:
    return f'{value:.4g}'


def _print_summary(report, recipe, paths, seconds: float) -> None:
    print(f'\nRun finished in {seconds:.0f} s; run directory: {paths.run_dir}')
    if report is None:
        print('  (no run found in the metadata store)')
        return
    if report.cached:
        print(f'  {len(report.cached)} of {len(report.components)} components served from the cache')
    shown = {k: v for k, v in sorted(report.metrics.items()) if '/' not in k}
    if shown:
        print('  eval metrics (eval split, overall): ' + '  '.join(f'{k} {_fmt(v)}' for k, v in shown.items()))
    if report.canned_metrics:
        _print_comparison(report, recipe)
    scores = report.candidate_scores
    if scores:
        others = '; '.join(f'candidate {row["candidate"]}: {_fmt(row["score"])}' for row in scores[1:])
        print(f'  model: candidate {scores[0]["candidate"]} of {len(recipe.candidates) or len(scores)} '
              f'(the Tuner\'s choice, {recipe.gate.metric} {_fmt(scores[0]["score"])} on the eval split; {others})')
    gate = recipe.gate
    op = '>=' if gate.higher_is_better else '<='
    verdict = {True: 'BLESSED', False: 'NOT BLESSED', None: 'not evaluated'}[report.blessed]
    print(f'  gate: {gate.metric} {op} {gate.bound}, and within {gate.change_tolerance} of the last '
          f'blessed model: {verdict}')
    if report.pushed:
        print(f'  pushed model: {report.pushed_model}')
    else:
        print('  pushed model: none (not blessed; earlier pushed models are untouched)')
    if recipe.weight_labels and report.model_run_uri:
        _print_weights(Path(report.model_run_uri) / WEIGHTS_FILE)
    print(f'  log: {paths.log_path}')


def _print_comparison(report, recipe) -> None:
    ours, canned = report.keras_metrics_vs_canned, report.canned_metrics
    names = [k for k in sorted(ours) if k in canned and '/' not in k and k != 'example_count']
    print(f'  vs the pre-made {recipe.canned_estimator} Estimator (same data and steps):')
    print(f'    {"metric":<12} {"keras":>10} {"canned":>10}')
    for name in names:
        print(f'    {name:<12} {_fmt(ours[name]):>10} {_fmt(canned[name]):>10}')


def _print_weights(path: Path, n: int = 8) -> None:
    if not path.exists():
        return
    print(f'  largest weights of the linear model (all of them: {path}):')
    for entry in top_weights(str(path), n):
        print(f"    {entry['weight']:+9.3f}  {entry['label']}")


def beam_line(beam_pipeline_args: List[str]) -> str:
    """The runner the Beam components run on, as the run's first lines show it (with the
    DirectRunner's mode where it is the local one)."""
    from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

    from tfx_keras_estimator.pipelines.config import beam_runner

    runner = beam_runner(beam_pipeline_args)
    if not runner.local:
        return runner.name
    direct = PipelineOptions(beam_pipeline_args).view_as(DirectOptions)
    workers = f'{direct.direct_num_workers} worker(s)' if direct.direct_num_workers else 'a worker per core'
    return f'{runner.name} ({direct.direct_running_mode}, {workers})'


def _cmd_run(args: argparse.Namespace) -> int:
    if args.keep_runs is not None and args.keep_runs < 1:
        print(f'tke: error: --keep-runs must be at least 1, got {args.keep_runs}', file=sys.stderr)
        return EXIT_BAD_INPUT
    config = LocalRunConfig(
        recipe=args.recipe, data_dir=args.data, output_dir=args.output, beam_mode=args.beam_mode,
        model_builder=args.model_builder, hparams=dict(args.hparam), trainer_mode=args.mode.replace('-', '_'),
        keras_model_path=args.keras_model, allow_unsafe_keras_file=args.allow_unsafe_keras_file,
        pipeline=dict(train_steps=args.train_steps, eval_steps=args.eval_steps, enable_cache=not args.no_cache,
                      warm_start=args.warm_start, anomaly_gate=args.anomaly_gate,
                      canned_baseline=args.canned_baseline, transform_materialize=args.transform_materialize == 'on',
                      extra_beam_args=list(args.beam_arg)))
    try:
        pipeline_config, paths, data = prepare(config)
    except ValueError as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    recipe = pipeline_config.recipe
    print(f'Recipe {recipe.name}: {recipe.description}')
    train_steps, why = pipeline_config.train_steps_and_why()
    beam = beam_line(pipeline_config.resolved_beam_pipeline_args)
    print(f'  data: {pipeline_config.data_root} ({len(data.files)} file(s), {data.rows} rows); '
          f'{train_steps} train steps ({why}), '
          f'{pipeline_config.resolved_eval_steps()} eval steps; beam {beam}')
    from tfx_keras_estimator.pipelines.app.serving import set_aside_incomplete

    # A push that was cut short: never the newest version a client or TF Serving loads.
    set_aside = [f'set aside {version} ({reason}: an interrupted push) in {target.parent}'
                 for version, reason, target in set_aside_incomplete(paths.serving_dir)]
    for line in set_aside:
        print(f'  {line}')
    errors = _redirect_logs(paths.log_path, args.verbose)
    for line in set_aside:
        logging.warning('tke: %s', line)
    progress = _Progress(sys.stdout)
    logging.getLogger('absl').addHandler(progress)
    logging.getLogger(PROGRESS_LOGGER).addHandler(progress)
    started = time.monotonic()
    try:
        run_pipeline(pipeline_config, paths)
    except RunDirectoryBusy as e:
        print(f'\ntke: error: {e}', file=errors)
        return EXIT_RUN_FAILED
    except Exception as e:  # noqa: BLE001 - any component failure ends the run with a message
        logging.exception('pipeline run failed')
        full = disk_full(e, paths.run_dir)
        if full:
            print(f'\ntke: error: {full}\n  earlier pushed models and the metadata store are intact.', file=errors)
            return EXIT_RUN_FAILED
        print(f'\ntke: error: the pipeline failed: {type(e).__name__}: {e}\n'
              f'  details: {paths.log_path}; earlier pushed models and the metadata store are intact.',
              file=errors)
        if paths.metadata_path.is_file():
            # What ran before the failure (an anomaly that stopped the run, say) is worth seeing.
            _write_report(paths.run_dir, pipeline_config.name, errors)
        return EXIT_RUN_FAILED
    finally:
        logging.getLogger('absl').removeHandler(progress)
        logging.getLogger(PROGRESS_LOGGER).removeHandler(progress)
    from tfx_keras_estimator.pipelines.app.report import latest_run

    report = latest_run(str(paths.metadata_path), pipeline_config.name)
    _print_summary(report, recipe, paths, time.monotonic() - started)
    if args.keep_runs is not None:
        with run_lock(paths):
            _gc(paths.run_dir, args.keep_runs, False, sys.stdout)
    _write_report(paths.run_dir, pipeline_config.name, sys.stdout)
    return 0


def _write_report(run_dir: Path, pipeline_name: Optional[str], out: TextIO) -> Optional[Path]:
    """The run report after a run; a report that cannot be built never fails the run."""
    from tfx_keras_estimator.pipelines.app.report_html import write_report

    try:
        path = write_report(run_dir, pipeline_name)
    except Exception as e:  # noqa: BLE001 - the run's outcome stands whatever the report meets
        logging.exception('run report not written')
        out.write(f'  report: not written ({type(e).__name__}: {e}); details in the log\n')
        return None
    out.write(f'  report: {path}\n')
    return path


def _quiet_tensorflow() -> None:
    """TensorFlow's start-up chatter (CUDA, oneDNN) off the terminal of a command that only reads."""
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    logging.getLogger('tensorflow').setLevel(logging.ERROR)
    logging.getLogger('tensorboard').setLevel(logging.ERROR)  # event-file notes irrelevant to a report


def _run_dir(args: argparse.Namespace) -> Optional[Path]:
    """RUN_DIR of a read-only command (or the default), or None, having said why, when it has no
    metadata store; checked before TensorFlow is imported, so a wrong folder fails at once."""
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir()
    try:
        existing_run(run_dir)
    except (NotARunDirectory, OtherStackRunDirectory) as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return None
    _quiet_tensorflow()
    return run_dir


def _cmd_report(args: argparse.Namespace) -> int:
    run_dir = _run_dir(args)
    if run_dir is None:
        return EXIT_BAD_INPUT
    from tfx_keras_estimator.pipelines.app.report_html import ReportError, write_report

    try:
        print(write_report(run_dir))
    except ReportError as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    run_dir = _run_dir(args)
    if run_dir is None:
        return EXIT_BAD_INPUT
    metadata_path = RunPaths(run_dir).metadata_path
    from tfx_keras_estimator.pipelines.app.report import all_runs, pipeline_names

    print(f'{run_dir.resolve()}:')
    print(f'  {"run":<4} {"started (UTC)":<20} {"recipe":<14} {"metric":<18} {"verdict":<12} {"pushed":<12} cached')
    for pipeline in pipeline_names(str(metadata_path)):
        for i, run in enumerate(all_runs(str(metadata_path), pipeline), 1):
            started = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(run.created_ms / 1000))
            recipe = str(run.trainer_settings.get('name') or pipeline)
            metric = run.gated_metric
            value = run.metrics.get(metric) if metric else None
            shown = f'{metric} {_fmt(value)}' if value is not None else '–'
            verdict = {True: 'blessed', False: 'not blessed', None: '–'}[run.blessed]
            if run.failed_at:
                verdict = f'failed: {run.failed_at}'
            print(f'  {i:<4} {started:<20} {recipe:<14} {shown:<18} {verdict:<12} {run.pushed_version or "–":<12} '
                  f'{len(run.cached)} of {len(run.components)}')
    return 0


def _cmd_tensorboard(args: argparse.Namespace) -> int:
    import subprocess

    run_dir = _run_dir(args)
    if run_dir is None:
        return EXIT_BAD_INPUT
    from tfx_keras_estimator.pipelines.app.tensorboard import tensorboard_command, training_logdirs
    try:
        logdirs = training_logdirs(run_dir.resolve())
        command = tensorboard_command(logdirs, args.host, args.port)
    except ValueError as e:
        print(f'tke: error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    for name, path in logdirs:
        print(f'  {name:<20} {path}')
    host = 'localhost' if args.host in ('127.0.0.1', 'localhost') else args.host
    print(f'TensorBoard on {len(logdirs)} training(s): http://{host}:{args.port}/  (Ctrl-C stops it)', flush=True)
    process = subprocess.Popen(command)
    # Stopped (Ctrl-C, or SIGTERM from a supervisor): TensorBoard stops with us.
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        return 0
    return 0 if code in (0, -signal.SIGTERM) else code


def main(argv: Optional[List[str]] = None) -> int:
    # As with `python -m`: modules in the current folder (a model builder, a recipe) import.
    if os.getcwd() not in sys.path and '' not in sys.path:
        sys.path.insert(0, os.getcwd())
    args = build_parser().parse_args(argv)
    if args.command == 'recipes':
        return _cmd_recipes()
    if args.command == 'init':
        return _cmd_init(args)
    if args.command == 'gc':
        return _cmd_gc(args)
    if args.command == 'report':
        return _cmd_report(args)
    if args.command == 'runs':
        return _cmd_runs(args)
    if args.command == 'tensorboard':
        return _cmd_tensorboard(args)
    if args.command == predict_cli.COMMAND:
        return predict_cli.run(args)
    if args.command == migrate.COMMAND:
        return migrate.run(args)
    if args.command in kubeflow_cli.COMMANDS:
        return kubeflow_cli.run(args)
    return _cmd_run(args)


if __name__ == '__main__':
    sys.exit(main())
