"""The digits demo, CI-sized: the example script itself (examples/digits_vgg.py), 3 epochs
instead of 8, must reach >= 90 % test accuracy (the full demo reaches >= 95 %, about 99 %)
and write its PNG plot.  This is the end-to-end proof that every backward pass is right."""
import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import cnncore

pytest.importorskip("sklearn")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits_vgg.py"
CI_EPOCHS = 3
CI_ACCURACY = 0.90


def load_example():
    spec = importlib.util.spec_from_file_location("digits_vgg", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_digits_data_is_upsampled_and_split():
    demo = load_example()
    x_train, y_train, x_test, y_test = demo.load_digits_32()
    assert x_train.shape[1:] == (32, 32, 1) and x_train.dtype == np.float32
    assert len(x_train) + len(x_test) == 1797 and len(x_test) == 450
    assert set(np.unique(y_test)) == set(range(10))
    # nearest-neighbour upsampling: 4x4 blocks of equal pixels
    assert np.all(x_train[:, ::4, ::4] == x_train[:, 3::4, 3::4])


@pytest.fixture
def one_thread():
    """This run proves learning, not speed: on one thread its time does not depend on
    whether the machine's other core is free (with both cores, fork-join kernels wait
    a scheduler slice at every barrier while anything else runs, ~25x slower here)."""
    old = cnncore.set_num_threads(1)
    with threadpool_limits(1):
        yield
    cnncore.set_num_threads(old)


def test_digits_small_vgg_learns(tmp_path, one_thread):
    demo = load_example()
    start = time.perf_counter()
    model, history, acc, seconds = demo.run(epochs=CI_EPOCHS, verbose=False)
    elapsed = time.perf_counter() - start
    assert acc >= CI_ACCURACY, f"test accuracy {acc:.3f} after {CI_EPOCHS} epochs ({seconds:.1f} s)"
    assert history["loss"][-1] < history["loss"][0]
    assert model.num_params == 590_586
    png = demo.plot_history(history, tmp_path / "curves.png", title="ci")
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"digits: {acc:.4f} test accuracy after {CI_EPOCHS} epochs, {elapsed:.1f} s")
