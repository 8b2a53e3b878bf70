"""Train a small VGG with batch norm on scikit-learn's handwritten digits.

The 1,797 digits (8x8, 16 grey levels, shipped with scikit-learn: nothing is
downloaded) are upsampled to 32x32 so that a VGG (five 2x2 poolings) fits, split
75/25 (stratified, seeded), and a VGG-11 with batch norm and a quarter of the
channels is trained with SGD + momentum + weight decay and a cosine learning rate.
The loss and accuracy curves go to a PNG.

Batch norm's moving averages use momentum 0.9 here, not Keras's 0.99: with only
~85 steps per epoch, 0.99 leaves the inference statistics lagging for epochs.

    python examples/digits_vgg.py                      # the full demo (>= 95 % test accuracy)
    python examples/digits_vgg.py --epochs 3 --plot /tmp/curves.png

Everything runs on cnncore's layers (forward and backward of the compiled kernels).
"""
import argparse
import time

import numpy as np

import cnncore
from cnncore.models import vgg
from cnncore.training import SGD, cosine_schedule, fit


def load_digits_32(test_size=0.25, seed=0, dtype="float32"):
    """(x_train, y_train, x_test, y_test): digits as (N, 32, 32, 1) images, standardised."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.float64) / 16.0                  # (1797, 8, 8) in [0, 1]
    images = np.kron(images, np.ones((1, 4, 4)))                      # nearest-neighbour 8x8 -> 32x32
    x = images[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=test_size, random_state=seed, stratify=digits.target)
    mean, std = x_train.mean(), x_train.std()
    x_train = ((x_train - mean) / std).astype(dtype)
    x_test = ((x_test - mean) / std).astype(dtype)
    return x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64)


def build_model(seed=0, width=0.25, fc_units=64, bn_momentum=0.9, dtype="float32"):
    """VGG-11 layout with batch norm, ``width`` of the channels, for 32x32x1 digits."""
    return vgg("vgg11", num_classes=10, input_shape=(32, 32, 1), batch_norm=True, width=width,
               fc_units=fc_units, dropout=0.0, seed=seed, dtype=dtype, bn_momentum=bn_momentum,
               name="digits_vgg11_bn")


def run(epochs=8, batch_size=16, lr=0.02, momentum=0.9, weight_decay=5e-4, width=0.25, fc_units=64,
        bn_momentum=0.9, seed=0, train_limit=None, verbose=True):
    """Train and evaluate; returns (model, history, test accuracy, seconds of training)."""
    x_train, y_train, x_test, y_test = load_digits_32(seed=seed)
    if train_limit is not None:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    model = build_model(seed=seed, width=width, fc_units=fc_units, bn_momentum=bn_momentum)
    opt = SGD(lr, momentum=momentum, weight_decay=weight_decay)
    start = time.perf_counter()
    history = fit(model, x_train, y_train, epochs=epochs, batch_size=batch_size, optimizer=opt,
                  validation_data=(x_test, y_test), seed=seed, verbose=verbose,
                  lr_schedule=cosine_schedule(lr, epochs))
    seconds = time.perf_counter() - start
    acc = model.evaluate(x_test, y_test)["accuracy"]
    return model, history, acc, seconds


def plot_history(history, path, title=""):
    """Loss and accuracy per epoch (training and test) side by side, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["loss"], "o-", label="train")
    ax2.plot(epochs, history["accuracy"], "o-", label="train")
    if "val_loss" in history:
        ax1.plot(epochs, history["val_loss"], "s-", label="test")
        ax2.plot(epochs, history["val_accuracy"], "s-", label="test")
    ax1.set(xlabel="epoch", ylabel="softmax cross-entropy", title="loss", yscale="log")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.01))
    ax2.axhline(0.95, color="grey", lw=0.8, ls="--")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--bn-momentum", type=float, default=0.9)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--fc-units", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="cnncore kernel threads (default: all cores)")
    p.add_argument("--plot", default="examples/digits_training.png", help="where the PNG goes")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.threads:
        cnncore.set_num_threads(args.threads)
    model, history, acc, seconds = run(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                       width=args.width, fc_units=args.fc_units,
                                       bn_momentum=args.bn_momentum, seed=args.seed,
                                       verbose=not args.quiet)
    print(model.summary())
    print(f"test accuracy {acc:.4f} after {args.epochs} epochs, {seconds:.1f} s of training "
          f"({cnncore.get_num_threads()} threads)")
    title = f"{model.name}: {model.num_params:,} parameters, test accuracy {acc:.3f}, {seconds:.0f} s"
    print("plot:", plot_history(history, args.plot, title))
    return acc


if __name__ == "__main__":
    main()
