"""The run report, tke runs and tke tensorboard on the session's real housing runs.

The browser test loads report.html in headless Chromium (Debian's ``chromium``; .ci/run
installs it), driven over the DevTools protocol: the page must request nothing but itself
(data: URIs aside), every image must decode in the browser and not be blank, every section
must be there and have content, and the screenshot must not be blank.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import List

import pytest

from tests.conftest import E2E_TRAIN_STEPS, run_tke
from tfx_keras_estimator.pipelines.app.report_html import REPORT_FILE, SECTIONS

pytestmark = pytest.mark.e2e

BROWSERS = ('chromium', 'chromium-browser', 'google-chrome')
# Evaluated in the loaded page: each image drawn onto a canvas, the share of its pixels
# that differ from the first (the background) measured; each section's size and text.
CHECK_SCRIPT = """
(() => {
  const images = [...document.images].map(img => {
    const r = {alt: img.alt, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight, ink: 0};
    try {
      const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext('2d'); g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data; let ink = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) ink++;
      }
      r.ink = ink / (c.width * c.height);
    } catch (e) { r.error = String(e); }
    return r;
  });
  const sections = [...document.querySelectorAll('section')].map(
    s => ({id: s.id, height: s.getBoundingClientRect().height, text: s.innerText}));
  return JSON.stringify({images, sections});
})()
"""


def _browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class DevTools:
    """Headless Chromium driven over its DevTools protocol (a websocket on loopback)."""

    def __init__(self, browser: str, profile: Path) -> None:
        import websocket  # websocket-client, in the lock (docker, kubernetes)

        self.process = subprocess.Popen(
            [browser, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--remote-debugging-port=0',
             f'--user-data-dir={profile}', '--no-first-run', 'about:blank'],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        endpoint = None
        deadline = time.monotonic() + 60
        while endpoint is None and time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            found = re.search(r'DevTools listening on ws://([^/]+)/', line)
            endpoint = found.group(1) if found else None
        if endpoint is None:
            self.process.kill()
            raise RuntimeError('Chromium did not start its DevTools endpoint')
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # keep the pipe drained
        with urllib.request.urlopen(f'http://{endpoint}/json/list', timeout=10) as response:
            page = next(t for t in json.loads(response.read()) if t['type'] == 'page')
        self.ws = websocket.create_connection(page['webSocketDebuggerUrl'], timeout=60)
        self.next_id = 0
        self.events: List[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({'id': self.next_id, 'method': method, 'params': params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get('id') == self.next_id:
                if 'error' in message:
                    raise RuntimeError(f'{method}: {message["error"]}')
                return message.get('result', {})
            self.events.append(message)

    def wait_for(self, event: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not any(e.get('method') == event for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(event)
            self.events.append(json.loads(self.ws.recv()))

    def close(self) -> None:
        self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope='module')
def report_path(housing_run, tmp_path_factory) -> Path:
    """The report as the two housing runs left it (tests in other modules add runs later)."""
    assert housing_run.report_page, 'tke run wrote no report.html'
    path = tmp_path_factory.mktemp('report') / REPORT_FILE
    path.write_text(housing_run.report_page)
    return path


def test_tke_run_ends_with_the_report_path_and_live_training_progress(housing_run, report_path):
    lines = [line for line in housing_run.first.stdout.splitlines() if line.strip()]
    assert lines[-1].strip() == f'report: {housing_run.run_dir / REPORT_FILE}'
    # Not a TTY here: plain progress lines, the last one at the end of training.
    assert f'training: step {E2E_TRAIN_STEPS}/{E2E_TRAIN_STEPS} (100%)' in housing_run.first.stdout
    assert 'examples/s' in housing_run.first.stdout
    # The second run's Trainer came from the cache: no training, no progress lines.
    assert 'training: step' not in housing_run.second.stdout


def _text(page: str) -> str:
    return re.sub(r'\s+', ' ', html.unescape(re.sub(r'<[^>]+>', ' ', page)))


def _images(page: str) -> List[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_report_holds_every_section_and_embedded_plots(report_path):
    from PIL import Image

    page = report_path.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert 'src="http' not in page and 'href="http' not in page, 'self-contained: nothing to fetch'
    images = _images(page)
    # A timeline, one small chart per housing feature, the curves, slices, history.
    assert len(images) >= 20
    for data in images:
        image = Image.open(io.BytesIO(data)).convert('RGB')
        assert image.size[0] > 50 and image.size[1] > 20
        pixels = list(image.getdata())
        assert sum(1 for p in pixels if p != pixels[0]) / len(pixels) > 0.02, 'a blank plot'
    text = _text(page)
    assert 'BLESSED' in text and 'rmse (gated)' in text and 'rmse <= 8' in text
    # The second run is the first from the cache: its evaluation (no baseline then), its curves.
    assert 'No baseline' in text and 'from the cache' in text
    assert 'serving_default' in text and 'examples: string [None]' in text
    assert 'Largest weights of the linear model' in text
    assert 'chas = 1' in text, 'metrics per slice'
    assert 'crim' in text and 'ExampleValidator found no anomalies' in text
    # History: both runs of the run directory so far.
    assert re.search(r'<td>1</td><td>[^<]+</td><td>[\d.]+</td><td>blessed</td>', page)
    assert re.search(r'<td>2</td><td>[^<]+</td><td>[\d.]+</td><td>blessed</td>', page)


@pytest.mark.skipif(_browser() is None, reason=f'no browser ({", ".join(BROWSERS)}) on PATH: apt-get install chromium')
def test_report_renders_in_a_real_browser_and_requests_nothing(report_path, tmp_path):
    from PIL import Image

    browser = DevTools(_browser(), tmp_path / 'profile')
    try:
        browser.call('Network.enable')
        browser.call('Page.enable')
        browser.call('Emulation.setDeviceMetricsOverride', width=1280, height=2400, deviceScaleFactor=1, mobile=False)
        browser.call('Page.navigate', url=report_path.as_uri())
        browser.wait_for('Page.loadEventFired')
        check = json.loads(browser.call('Runtime.evaluate', expression=CHECK_SCRIPT, returnByValue=True)
                           ['result']['value'])
        shot = base64.b64decode(browser.call('Page.captureScreenshot', format='png')['data'])
    finally:
        browser.close()
    requested = [e['params']['request']['url'] for e in browser.events
                 if e.get('method') == 'Network.requestWillBeSent']
    assert requested and requested[0] == report_path.as_uri()
    fetched = [url for url in requested if not url.startswith('data:') and url != report_path.as_uri()]
    assert fetched == [], f'the page requested {fetched}'
    assert [s['id'] for s in check['sections']] == list(SECTIONS)
    for section in check['sections']:
        assert section['height'] > 60 and len(section['text']) > 40, section['id']
    assert len(check['images']) >= 20
    for image in check['images']:
        assert image['complete'] and image['width'] > 50 and 'error' not in image, image
        assert image['ink'] > 0.02, f'blank image: {image["alt"]}'
    screenshot = Image.open(io.BytesIO(shot)).convert('RGB')
    assert screenshot.size == (1280, 2400)
    assert len(set(screenshot.resize((320, 600)).getdata())) > 50, 'a blank screenshot (a few colours at most)'
    (tmp_path / 'report.png').write_bytes(shot)


def test_tke_report_rebuilds_the_page(housing_run):
    page = housing_run.run_dir / REPORT_FILE
    before = page.stat().st_mtime_ns
    result = run_tke('report', str(housing_run.run_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(page)
    assert page.stat().st_mtime_ns > before
    runs = len([line for line in run_tke('runs', str(housing_run.run_dir)).stdout.splitlines()[2:] if line.strip()])
    history = page.read_text().split('<section id="history">')[1]
    assert history.count('<tr><td>') == runs >= 2, 'one history row per run in the store'


def test_tke_runs_lists_every_run(housing_run):
    result = run_tke('runs', str(housing_run.run_dir))
    assert result.returncode == 0, result.stderr
    # The session's first two runs (other test modules add more to this directory).
    rows = [line.split() for line in result.stdout.splitlines()[2:]][:2]
    assert [r[0] for r in rows] == ['1', '2']
    for row in rows:
        assert row[3] == 'housing' and row[4] == 'rmse' and float(row[5]) < 8 and row[6] == 'blessed'
    pushed = sorted(p.name for p in (housing_run.run_dir / 'serving').iterdir())
    assert rows[0][7] == pushed[0]
    # The second run: everything but the baseline resolver (resolvers always run) from the
    # cache, its push the first run's.
    assert rows[1][7] == pushed[0]
    assert int(rows[1][-3]) == int(rows[1][-1]) - 1 and rows[0][-3] == '0'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_tke_tensorboard_serves_every_training_by_run(housing_run):
    port = _free_port()
    tke = Path(sys.executable).with_name('tke')
    process = subprocess.Popen([str(tke), 'tensorboard', str(housing_run.run_dir), '--port', str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        runs, deadline = None, time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/data/runs', timeout=5) as response:
                    runs = json.loads(response.read())
                if runs:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert process.poll() is None, process.communicate()
        # The second run's Trainer was cached (the same ModelRun): no run2-Trainer. Runs that
        # other test modules add to this directory come after.
        assert {'run1-Trainer/estimator', 'run1-Trainer/estimator/eval'} <= set(runs)
        assert not any(name.startswith('run2-') for name in runs)
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/data/plugin/scalars/tags', timeout=10) as response:
            tags = json.loads(response.read())
        assert 'rmse' in tags['run1-Trainer/estimator/eval']
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert f'http://localhost:{port}/' in out and 'run1-Trainer' in out


def test_report_of_a_folder_that_is_no_run_directory_is_a_clear_error(tmp_path):
    result = run_tke('report', str(tmp_path))
    assert result.returncode == 2
    assert f'{tmp_path} is not a run directory' in result.stderr
