"""The run report: one self-contained ``report.html`` per run directory.

Everything is read back from what the run left (MLMD, artifacts; ``tfx_keras_estimator.pipelines.app.report`` and
``tfx_keras_estimator.pipelines.app.run_details``), so ``tke report RUN_DIR`` rebuilds it any time, for any recipe.
Plots are matplotlib PNGs embedded as data URIs; the page loads nothing from anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from tfx_keras_estimator.pipelines.app.local_runner import NotARunDirectory, existing_run
from tfx_keras_estimator.pipelines.app.report import CANDIDATE, RunReport, all_runs, pipeline_names
from tfx_keras_estimator.pipelines.app.run_details import (
    Curve,
    Evaluation,
    FeatureSummary,
    read_anomalies,
    read_evaluation,
    read_statistics,
    signatures,
    stack_versions,
    training_curves,
)
from tfx_keras_estimator.pipelines.config import TRAINER_ID

REPORT_FILE = 'report.html'
SECTIONS = ('run', 'data', 'training', 'evaluation', 'model', 'history')
# Histograms drawn per feature; wider tables list the rest without one.
MAX_FEATURE_PLOTS = 200
STATE_COLORS = {'complete': '#2b8a3e', 'cached': '#868e96', 'failed': '#c92a2a', 'running': '#e67700'}


class ReportError(ValueError):
    """No report can be built for this folder (no run directory, no run)."""


# ---- plots ----

def _pyplot():
    import matplotlib

    matplotlib.use('Agg')  # no display; PNGs only
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=fig.dpi, bbox_inches='tight')
    plt.close(fig)
    return 'data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode('ascii')


def timeline_png(report: RunReport) -> Optional[str]:
    """The components on a time axis from the run's first start, coloured by state."""
    shown = [c for c in report.components if c.start_ms]
    if not shown:
        return None
    plt = _pyplot()
    start = min(c.start_ms for c in shown)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(shown) + 0.8), dpi=100)
    for i, component in enumerate(shown):
        left = (component.start_ms - start) / 1000
        width = max((component.end_ms - component.start_ms) / 1000, 0.05)
        ax.barh(i, width, left=left, color=STATE_COLORS.get(component.state, '#495057'))
        ax.text(left + width, i, f' {width:.1f} s', va='center', fontsize=8)
    ax.set_yticks(range(len(shown)), [c.node_id for c in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel('seconds from the start of the run')
    ax.spines[['top', 'right']].set_visible(False)
    return _png(fig)


class Sparklines:
    """Small axis-less histograms (numbers) or top-value bars (strings), one per feature.

    One figure is reused: a new figure per feature costs ~70 ms of axes and ticks, which a
    64-pixel digits table would pay 64 times; the values are in the table beside the chart.
    """

    def __init__(self) -> None:
        plt = _pyplot()
        self.fig = plt.figure(figsize=(2.0, 0.45), dpi=100)
        self.ax = self.fig.add_axes((0.01, 0.04, 0.98, 0.92))
        self.ax.set_axis_off()

    def png(self, feature: FeatureSummary) -> Optional[str]:
        if not feature.histogram and not feature.top:
            return None
        ax = self.ax
        for artist in [*ax.patches, *ax.lines]:
            artist.remove()
        if feature.histogram:
            lows = [b[0] for b in feature.histogram]
            widths = [max(b[1] - b[0], 1e-12) for b in feature.histogram]
            ax.bar(lows, [b[2] for b in feature.histogram], width=widths, align='edge', color='#4263eb')
        else:
            counts = [t[1] for t in feature.top[:8]]
            ax.bar(range(len(counts)), counts, width=0.8, color='#4263eb')
        ax.axhline(0, color='#adb5bd', linewidth=0.8)
        ax.relim()
        ax.autoscale_view()
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format='png', dpi=self.fig.dpi)
        return 'data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode('ascii')

    def close(self) -> None:
        _pyplot().close(self.fig)


def curve_png(curve: Curve) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 2.8), dpi=100)
    if curve.train:
        ax.plot(*zip(*curve.train, strict=True), label='train', color='#4263eb', linewidth=1.2)
    if curve.eval:
        ax.plot(*zip(*curve.eval, strict=True), label='eval', color='#e8590c', marker='o', markersize=4,
                linewidth=1.2)
    ax.set_title(curve.metric, fontsize=10)
    ax.set_xlabel(curve.x_label, fontsize=8)
    ax.tick_params(labelsize=7)
    values = [v for _, v in curve.train + curve.eval]
    if values and min(values) > 0 and max(values) / min(values) > 50:
        ax.set_yscale('log')  # a first-step loss of 700 hides the rest otherwise
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.spines[['top', 'right']].set_visible(False)
    return _png(fig)


def slices_png(metric: str, rows: Sequence[tuple[str, float]]) -> Optional[str]:
    """The gated metric per slice, as horizontal bars."""
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(rows) + 0.8), dpi=100)
    ax.barh(range(len(rows)), [r[1] for r in rows], color=['#4263eb' if i else '#1c7ed6' for i in range(len(rows))])
    ax.set_yticks(range(len(rows)), [_short(r[0], 40) for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    ax.spines[['top', 'right']].set_visible(False)
    return _png(fig)


def history_png(metric: str, points: Sequence[tuple[int, float, Optional[bool]]]) -> Optional[str]:
    """The gated metric of every run (index, value, blessed), blessed runs filled."""
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
    xs = [p[0] for p in points]
    ax.plot(xs, [p[1] for p in points], color='#adb5bd', linewidth=1)
    for blessed, color, label in ((True, '#2b8a3e', 'blessed'), (False, '#c92a2a', 'not blessed')):
        chosen = [p for p in points if bool(p[2]) is blessed]
        if chosen:
            ax.scatter([p[0] for p in chosen], [p[1] for p in chosen], color=color, label=label, zorder=3)
    ax.set_xticks(xs)
    ax.set_xlabel('run')
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.spines[['top', 'right']].set_visible(False)
    return _png(fig)


# ---- page ----

def _e(value: object) -> str:
    return html.escape(str(value))


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + '…'


def _num(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return '–'
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e12:
        return f'{int(value):,}'
    return f'{value:.4g}'


def _img(uri: Optional[str], alt: str, cls: str = 'plot') -> str:
    return f'<img class="{cls}" alt="{_e(alt)}" src="{uri}">' if uri else ''


def _table(header: Optional[Sequence[str]], rows: Sequence[Sequence[str]], cls: str = '') -> str:
    head = '<thead><tr>' + ''.join(f'<th>{_e(h)}</th>' for h in header) + '</tr></thead>' if header else ''
    body = ''.join('<tr>' + ''.join(f'<td>{cell}</td>' for cell in row) + '</tr>' for row in rows)
    return f'<table class="{cls}">{head}<tbody>{body}</tbody></table>'


def _when(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


def _run_section(report: RunReport, wall: float, data_rows: Dict[str, int]) -> str:
    gen = next((c for c in report.components if c.node_id.endswith('ExampleGen')), None)
    data_root = str(gen.properties.get('input_base', '')) if gen else ''
    files = []
    if data_root and os.path.isdir(data_root):
        files = sorted(p for p in Path(data_root).iterdir() if p.is_file() and not p.name.startswith('.'))
    trainer = report.trainer_settings
    task = trainer.get('task', {}) if isinstance(trainer.get('task'), dict) else {}
    train_steps = report.json_property(TRAINER_ID, 'train_args').get('num_steps', '–')
    eval_steps = report.json_property(TRAINER_ID, 'eval_args').get('num_steps', '–')
    facts = [
        ('pipeline', _e(report.pipeline_name)),
        ('recipe', _e(trainer.get('name', '–'))),
        ('run', _e(report.run_id) + (f' (started {_when(report.created_ms)})' if report.created_ms else '')),
        ('wall time', f'{wall:.1f} s'),
        ('data', _e(data_root or '–') + ('<br>' + ', '.join(
            f'{_e(p.name)} ({p.stat().st_size / 1e6:.2f} MB)' for p in files[:20]) if files else '')),
        ('rows', ', '.join(f'{_e(split)} {n:,}' for split, n in data_rows.items()) or '–'),
        ('task', _e(f"{task.get('task', '–')} on {task.get('label_key', '–')!r}"
                    + (f", classes {task.get('class_labels')}" if task.get('class_labels') else ''))),
        ('training', _e(f"mode {trainer.get('mode', '–')}, {train_steps} train steps, {eval_steps} eval steps, "
                        f"model builder {trainer.get('model_builder') or '–'}")),
        ('hyperparameters', _e(', '.join(f'{k}={v}' for k, v in sorted(dict(trainer.get('hparams') or {}).items()))
                               or '–')),
    ]
    cached = report.cached
    ran = len(report.components) - len(cached)
    rows = [[_e(c.node_id), f'<span class="state {_e(c.state)}">{_e(c.state)}</span>', f'{c.seconds:.1f} s']
            for c in report.components]
    versions = ', '.join(f'{_e(k)} {_e(v)}' for k, v in stack_versions().items())
    return (
        _table(None, [[f'<b>{k}</b>', v] for k, v in facts], 'facts')
        + f'<p>{ran} component(s) ran, {len(cached)} came from the cache'
        + (f' ({", ".join(_e(c) for c in cached)})' if cached else '') + '.</p>'
        + '<div class="row">' + _table(['component', 'state', 'time'], rows)
        + _img(timeline_png(report), 'timeline of the components') + '</div>'
        + f'<p class="small">Stack: {versions}.</p>')


def _data_section(report: RunReport) -> tuple[str, Dict[str, int]]:
    stats_uri = report.output('StatisticsGen', 'ExampleStatistics')
    anomalies_uri = report.output('ExampleValidator', 'ExampleAnomalies')
    if not stats_uri:
        return '<p>No statistics in this run (StatisticsGen did not run).</p>', {}
    splits = read_statistics(stats_uri)
    rows_by_split = {s.split: s.examples for s in splits}
    parts = []
    if anomalies_uri:
        anomalies = read_anomalies(anomalies_uri)
        if anomalies:
            items = ''.join(f'<li><b>{_e(a.feature)}</b> ({_e(a.split)}, {_e(a.severity.lower())}): '
                            f'{_e(a.short)}. {_e(a.description)}</li>' for a in anomalies)
            parts.append(f'<div class="anomalies"><h3>Anomalies found by ExampleValidator</h3><ul>{items}</ul></div>')
        else:
            parts.append('<p class="ok">ExampleValidator found no anomalies: every split matches the schema.</p>')
    if splits:
        split = splits[0]
        parts.append(f'<h3>Features of the {_e(split.split)} split ({split.examples:,} examples)</h3>')
        rows = []
        sparklines = Sparklines()
        for i, f in enumerate(split.features):
            if f.histogram or f.kind in ('INT', 'FLOAT'):
                values = f'min {_num(f.min)} · mean {_num(f.mean)} · max {_num(f.max)}'
                if f.zeros:
                    values += f' · {f.zeros:.0%} zeros'
            elif f.top:
                values = (f'{f.unique:,} distinct; top: ' if f.unique else 'top: ') + ', '.join(
                    f'{_e(_short(v, 24))} ({_num(c)})' for v, c in f.top[:4])
            else:
                values = f'{f.unique:,} distinct' if f.unique else ''
            plot = _img(sparklines.png(f), f'distribution of {f.name}', 'spark') if i < MAX_FEATURE_PLOTS else ''
            missing = f'<span class="warn">{f.missing:.1%}</span>' if f.missing else '0'
            rows.append([f'<b>{_e(f.name)}</b>', _e(f.kind.lower()), missing, values, plot])
        sparklines.close()
        parts.append(_table(['feature', 'type', 'missing', 'values', 'distribution'], rows, 'features'))
    return ''.join(parts), rows_by_split


def _training_section(report: RunReport) -> str:
    if not report.model_run_uri or not os.path.isdir(report.model_run_uri):
        return '<p>No training in this run.</p>'
    curves = training_curves(report.model_run_uri)
    if not curves:
        return f'<p>The Trainer wrote no curves ({_e(report.model_run_uri)}).</p>'
    trainer = report.component(TRAINER_ID)
    note = ' (from the cache: the curves of the training it reused)' if trainer and trainer.state == 'cached' else ''
    steps = max((p[0] for c in curves for p in c.train + c.eval), default=0)
    unit = curves[0].x_label
    return (f'<p>{_e(unit)} {steps:,} reached{note}; event files: <code>{_e(report.model_run_uri)}</code> '
            f'(<code>tke tensorboard</code> shows them live).</p><div class="grid">'
            + ''.join(_img(curve_png(c), f'{c.metric} against the {c.x_label}') for c in curves) + '</div>')


def _evaluation_section(report: RunReport, evaluation: Optional[Evaluation]) -> str:
    if evaluation is None:
        return '<p>No evaluation in this run.</p>'
    verdict = {True: ('blessed', 'BLESSED: the model passed the gate'),
               False: ('failed', 'NOT BLESSED: the model did not pass the gate'),
               None: ('', 'no verdict')}[report.blessed]
    gate = ''.join(f'<li>{_e(t.describe())}</li>' for t in evaluation.thresholds) or '<li>no thresholds</li>'
    failures = ''.join(f'<li>{_e(f)}</li>' for f in evaluation.failures)
    parts = [f'<p class="verdict {verdict[0]}">{verdict[1]}</p><p>Gate (as the Evaluator applied it):</p>'
             f'<ul>{gate}</ul>' + (f'<p>Failed checks:</p><ul>{failures}</ul>' if failures else '')]
    candidate = evaluation.slices.get(CANDIDATE, [])
    overall = candidate[0].metrics if candidate else {}
    baseline = evaluation.slices.get('baseline', [])
    base_overall = baseline[0].metrics if baseline else {}
    names = sorted(k for k in overall if not k.endswith('_diff'))
    header = ['metric', 'this model']
    if base_overall:
        header += ['last blessed model', 'difference']
    if report.canned_metrics:
        header += ['pre-made Estimator']
    rows = []
    gated = report.gated_metric
    for name in names:
        label = f'<b>{_e(name)}</b>' + (' (gated)' if name == gated else '')
        row = [label, _num(overall[name])]
        if base_overall:
            row += [_num(base_overall.get(name)), _num(overall.get(f'{name}_diff'))]
        if report.canned_metrics:
            row.append(_num(report.canned_metrics.get(name)))
        rows.append(row)
    parts.append('<h3>Overall (eval split)</h3>' + _table(header, rows))
    if not base_overall:
        parts.append('<p class="small">No baseline: no earlier blessed model in this run directory, so only the '
                     'absolute bound applied.</p>')
    if report.canned_metrics:
        parts.append('<p class="small">The pre-made Estimator trained on the same data and steps '
                     '(<code>--canned-baseline</code>); its numbers inform, they bless nothing.</p>')
    if len(candidate) > 1:
        slice_names = [n for n in names if n != 'example_count'][:6]
        rows = [[_e(s.slice), _num(s.metrics.get('example_count'))] + [_num(s.metrics.get(n)) for n in slice_names]
                for s in candidate]
        parts.append('<h3>By slice</h3><div class="row">' + _table(['slice', 'examples', *slice_names], rows))
        metric = gated if gated in overall else (slice_names[0] if slice_names else None)
        if metric:
            parts.append(_img(slices_png(metric, [(s.slice, s.metrics[metric]) for s in candidate
                                                  if metric in s.metrics]), f'{metric} by slice'))
        parts.append('</div>')
    return ''.join(parts)


def _model_section(report: RunReport) -> str:
    parts = []
    if report.pushed and report.pushed_model:
        parts.append(f'<p>Pushed to <code>{_e(report.pushed_model)}</code>. Predict with '
                     f'<code>tke predict --model {_e(report.pushed_model)} --csv FILE</code>.</p>')
        where = report.pushed_model
    else:
        parts.append('<p>Not pushed: the model was not blessed; earlier pushed models are untouched.</p>')
        where = os.path.join(report.model_uri, 'Format-Serving') if report.model_uri else None
        if where and os.path.isdir(where):
            parts.append(f'<p>The trained (unpushed) model: <code>{_e(where)}</code>.</p>')
    if where and os.path.isfile(os.path.join(where, 'saved_model.pb')):
        rows = []
        for sig in signatures(where):
            ins = '<br>'.join(f'{_e(t.name)}: {_e(t.dtype)} {_e(t.shape)}' for t in sig.inputs)
            outs = '<br>'.join(f'{_e(t.name)}: {_e(t.dtype)} {_e(t.shape)}' for t in sig.outputs)
            rows.append([f'<b>{_e(sig.name)}</b>', _e(sig.method), ins, outs])
        parts.append('<h3>Signatures</h3>' + _table(['signature', 'method', 'inputs', 'outputs'], rows)
                     + '<p class="small">Inputs are serialized raw tf.Examples (the CSV\'s columns); '
                       'the Transform graph is inside the model.</p>')
    if report.model_run_uri:
        from tfx_keras_estimator.components.trainer.weights import WEIGHTS_FILE, top_weights

        weights = os.path.join(report.model_run_uri, WEIGHTS_FILE)
        if os.path.isfile(weights):
            rows = [[f'{w["weight"]:+.3f}', _e(w['label'])] for w in top_weights(weights, 12)]
            parts.append(f'<h3>Largest weights of the linear model</h3>{_table(["weight", "feature"], rows)}'
                         f'<p class="small">All of them: <code>{_e(weights)}</code></p>')
    return ''.join(parts)


def _history_section(runs: List[RunReport], metric: Optional[str]) -> str:
    rows, points = [], []
    for i, run in enumerate(runs, 1):
        value = run.metrics.get(metric) if metric else None
        if value is not None:
            points.append((i, value, run.blessed))
        verdict = {True: 'blessed', False: 'not blessed', None: '–'}[run.blessed]
        rows.append([str(i), _e(_when(run.created_ms) if run.created_ms else run.run_id), _num(value), verdict,
                     _e(run.pushed_version or '–'), f'{len(run.cached)} of {len(run.components)}'])
    header = ['run', 'started', metric or 'gated metric', 'verdict', 'pushed version', 'cached']
    return (_img(history_png(metric, points), f'{metric} of every run') if metric and len(points) > 1 else '') + \
        _table(header, rows)


CSS = """
body{font:14px/1.45 -apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#212529;margin:0;background:#f8f9fa}
header{background:#1c2b4a;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5d0e6}nav{background:#fff;border-bottom:1px solid #dee2e6;padding:8px 28px;
position:sticky;top:0}nav a{margin-right:18px;color:#1c7ed6;text-decoration:none}
main{max-width:1180px;margin:0 auto;padding:8px 28px 40px}section{background:#fff;border:1px solid #dee2e6;
border-radius:8px;margin:18px 0;padding:8px 20px 16px}h2{font-size:18px;border-bottom:1px solid #e9ecef;
padding-bottom:6px}h3{font-size:15px;margin:18px 0 6px}table{border-collapse:collapse;margin:6px 0}
td,th{padding:4px 10px;border-bottom:1px solid #e9ecef;text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600}table.facts td:first-child{white-space:nowrap}
.row{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}.grid{display:flex;flex-wrap:wrap;gap:12px}
img.plot{max-width:100%;border:1px solid #f1f3f5}img.spark{display:block}.small{color:#6c757d;font-size:12px}
.state{padding:1px 6px;border-radius:4px;color:#fff;font-size:12px}.state.complete{background:#2b8a3e}
.state.cached{background:#868e96}.state.failed{background:#c92a2a}.warn{color:#c92a2a}.ok{color:#2b8a3e}
.verdict{font-weight:700;font-size:16px}.verdict.blessed{color:#2b8a3e}.verdict.failed{color:#c92a2a}
.anomalies{background:#fff5f5;border:1px solid #ffc9c9;border-radius:6px;padding:4px 14px}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:13px;margin-left:8px}
.badge.blessed{background:#2b8a3e}.badge.failed{background:#c92a2a}.badge.none{background:#868e96}
code{background:#f1f3f5;padding:1px 4px;border-radius:3px;font-size:12px}
"""

TITLES = {'run': 'The run', 'data': 'The data', 'training': 'Training', 'evaluation': 'Evaluation',
          'model': 'The model', 'history': 'History'}


def render(run_dir: Path, pipeline_name: Optional[str] = None) -> str:
    """The report page of the latest run in ``run_dir``, as HTML."""
    try:
        metadata_path = existing_run(run_dir).metadata_path
    except NotARunDirectory as e:
        raise ReportError(str(e)) from None
    names = pipeline_names(str(metadata_path))
    if pipeline_name is None:
        if len(names) != 1:
            raise ReportError(f'{metadata_path} holds {"no pipeline" if not names else "pipelines " + str(names)}; '
                              'name one')
        pipeline_name = names[0]
    runs = all_runs(str(metadata_path), pipeline_name)
    if not runs:
        raise ReportError(f'{metadata_path} holds no run of {pipeline_name!r}')
    report = runs[-1]
    starts = [c.start_ms for c in report.components if c.start_ms]
    wall = (max(c.end_ms for c in report.components) - min(starts)) / 1000 if starts else 0.0
    evaluation = read_evaluation(report.evaluation_uri) if report.evaluation_uri else None
    data_html, rows_by_split = _data_section(report)
    bodies = {
        'run': _run_section(report, wall, rows_by_split),
        'data': data_html,
        'training': _training_section(report),
        'evaluation': _evaluation_section(report, evaluation),
        'model': _model_section(report),
        'history': _history_section(runs, report.gated_metric),
    }
    badge = {True: ('blessed', 'blessed'), False: ('failed', 'not blessed'), None: ('none', 'not evaluated')}[
        report.blessed]
    if report.failed_at:
        badge = ('failed', f'failed at {report.failed_at}')
    nav = ''.join(f'<a href="#{s}">{TITLES[s]}</a>' for s in SECTIONS)
    sections = ''.join(f'<section id="{s}"><h2>{TITLES[s]}</h2>{bodies[s]}</section>' for s in SECTIONS)
    built = dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    title = f'{pipeline_name}: run {report.run_id}'
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>'
            f'<header><h1>{_e(pipeline_name)}<span class="badge {badge[0]}">{_e(badge[1])}</span></h1>'
            f'<p>run {_e(report.run_id)} · {_e(run_dir)} · built {built} by tke report</p></header>'
            f'<nav>{nav}</nav><main>{sections}</main></body></html>')


def write_report(run_dir: Path, pipeline_name: Optional[str] = None) -> Path:
    """Writes ``run_dir/report.html`` (atomically: a reader never sees half a page)."""
    run_dir = Path(run_dir).resolve()
    page = render(run_dir, pipeline_name)
    target = run_dir / REPORT_FILE
    staging = target.with_name(f'.{REPORT_FILE}.tmp')
    staging.write_text(page, encoding='utf-8')
    os.replace(staging, target)
    return target
