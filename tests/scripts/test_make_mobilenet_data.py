"""scripts/make_mobilenet_data.py: deterministic, matches the checked-in data, decodes back to digits.csv."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT, csv_rows

SCRIPT = REPO_ROOT / 'scripts' / 'make_mobilenet_data.py'


@pytest.fixture(scope='module')
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp('mobilenet-data') / 'digits.tfrecord'
    proc = subprocess.run([sys.executable, str(SCRIPT), '--out', str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'wrote 1797 examples' in proc.stdout
    return out


def test_checked_in_data_is_the_scripts_output(regenerated, mobilenet_tfrecord):
    assert regenerated.read_bytes() == mobilenet_tfrecord.read_bytes()


def test_every_png_decodes_back_to_the_csv_pixels(mobilenet_tfrecord, digits_csv):
    rows = csv_rows(digits_csv, 10_000)
    records = list(tf.data.TFRecordDataset(str(mobilenet_tfrecord)))
    assert len(records) == len(rows) == 1797
    for i, (row, record) in enumerate(zip(rows, records, strict=True)):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        assert sorted(feature) == ['image', 'label']
        assert feature['label'].int64_list.value == [int(row['label'])], f'record {i}'
        png = feature['image'].bytes_list.value[0]
        assert png.startswith(b'\x89PNG'), f'record {i}'
        image = tf.io.decode_png(png).numpy()
        assert image.shape == (32, 32, 3), f'record {i}'
        # Gray (three equal channels), constant 4x4 blocks, levels back to 0..16.
        assert (image == image[:, :, :1]).all(), f'record {i}'
        blocks = image[:, :, 0].reshape(8, 4, 8, 4)
        assert (blocks == blocks[:, :1, :, :1]).all(), f'record {i}'
        levels = np.round(blocks[:, 0, :, 0].astype(np.float64) * 16 / 255).astype(int).ravel()
        assert levels.tolist() == [int(row[f'pixel_{k:02d}']) for k in range(64)], f'record {i}'
