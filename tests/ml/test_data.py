import gzip
import shutil

import numpy as np
import pytest
from django.conf import settings

from ml import data


def test_it_loads_the_verified_sixty_and_ten_thousand(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert mnist.y_train.shape == (60000,) and set(np.unique(mnist.y_test)) == set(range(10))
    assert mnist.hashes == data.FILES


def test_it_names_a_corrupt_file_and_how_to_fix_it(tmp_path, mnist):
    for name in data.FILES:
        shutil.copyfile(settings.MNIST_DIR / name, tmp_path / name)
    blob = bytearray((tmp_path / "t10k-labels-idx1-ubyte").read_bytes())
    blob[100] ^= 0xFF
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(blob))
    with pytest.raises(data.DatasetError, match="t10k-labels-idx1-ubyte is corrupt.*fetch_mnist"):
        data.load(tmp_path)


def test_it_names_a_missing_file(tmp_path):
    with pytest.raises(data.DatasetError, match="missing.*fetch_mnist"):
        data.load(tmp_path)


def test_it_imports_gzipped_idx_files_a_user_already_has(tmp_path, mnist):
    source = tmp_path / "downloads"
    source.mkdir()
    for name in data.FILES:
        # LeCun's own names use a dot before "idx".
        # The fastest level: this tests the import, not gzip (level 9 took most of the test's time).
        with gzip.open(source / f"{name.replace('-idx', '.idx')}.gz", "wb", compresslevel=1) as fh:
            fh.write((settings.MNIST_DIR / name).read_bytes())
    assert data.import_from(source, tmp_path / "cache") == data.FILES
    assert data.load(tmp_path / "cache").x_test.shape == (10000, 28, 28)


def test_it_imports_a_keras_npz(tmp_path, mnist):
    npz = tmp_path / "mnist.npz"
    np.savez_compressed(npz, x_train=mnist.x_train, y_train=mnist.y_train,
                        x_test=mnist.x_test, y_test=mnist.y_test)
    assert data.import_from(npz, tmp_path / "cache") == data.FILES


def test_it_refuses_an_npz_that_is_not_mnist(tmp_path, mnist):
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=mnist.x_train[:10], y_train=mnist.y_train[:10],
             x_test=mnist.x_test, y_test=mnist.y_test)
    with pytest.raises(data.DatasetError, match="corrupt"):
        data.import_from(npz, tmp_path / "cache")
