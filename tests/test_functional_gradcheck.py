"""Finite-difference gradient checks, in float64, of every backward function.

For a random upstream gradient dy, the scalar L = sum(forward(...) * dy) has
dL/d(input) = backward(dy, ...).  We compare each analytic gradient with a
central finite difference of L computed from the *same* implementation's
forward, for the NumPy oracle and for cnncore.

Tolerances: central differences have truncation error O(h^2 |L'''|) and
rounding error ~ eps |L| / h.  Convolution, pooling (away from ties), dense
and ReLU (away from 0) are piecewise linear, so only rounding remains:
with h = 1e-6, |L| <~ 100, that is ~ 2e-8; we use atol 1e-6, rtol 1e-6.
Batch norm and softmax are smooth but curved: h = 1e-5 gives truncation
~ 1e-10 |L'''| and rounding ~ 1e-9; we use atol 1e-6, rtol 1e-5.
A wrong index or a missing term shows up as an O(1) difference.
"""
import numpy as np
import pytest

from oracle_support import numerical_gradient


def check(analytic, numeric, what, rtol=1e-6, atol=1e-6):
    analytic = np.asarray(analytic)
    assert analytic.shape == numeric.shape, f"{what}: shape {analytic.shape} != {numeric.shape}"
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol, err_msg=what)


CONV_GEOMETRIES = [
    # x shape, kernel shape, stride, padding, dilation
    ((2, 5, 4, 2), (3, 2, 2, 3), (2, 1), "same", 1),              # asymmetric SAME rows
    ((1, 6, 7, 2), (2, 3, 2, 2), 1, "valid", (2, 2)),             # dilation
    ((2, 5, 5, 1), (2, 2, 1, 2), 3, ((1, 0), (2, 1)), 1),         # stride > kernel, explicit
    ((1, 4, 6, 3), (3, 3, 3, 2), (1, 2), "same", (2, 1)),         # SAME + stride + dilation
    ((2, 3, 3, 2), (3, 3, 2, 2), 1, "valid", 1),                  # kernel equal to the image
    ((1, 1, 1, 2), (1, 1, 2, 3), 1, "same", 1),                   # 1x1 image
    ((1, 4, 5, 2), (2, 3, 2, 1), 2, (1, 2), 1),                   # (ph, pw) padding
]


@pytest.mark.parametrize("xs, ks, stride, padding, dilation", CONV_GEOMETRIES,
                         ids=[f"{g[0]}-{g[1]}-s{g[2]}-{g[3]}-d{g[4]}" for g in CONV_GEOMETRIES])
def test_conv2d_backward_finite_differences(m, xs, ks, stride, padding, dilation):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, xs)
    kernel = rng.uniform(-1, 1, ks)
    bias = rng.uniform(-1, 1, ks[3])
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    dy = rng.uniform(-1, 1, np.shape(m.conv2d(x, kernel, bias, **kw)))

    def loss():
        return float(np.sum(m.conv2d(x, kernel, bias, **kw) * dy))

    dx, dkernel, dbias = m.conv2d_backward(dy, x, kernel, **kw)
    check(dx, numerical_gradient(loss, x), "dx")
    check(dkernel, numerical_gradient(loss, kernel), "dkernel")
    check(dbias, numerical_gradient(loss, bias), "dbias")


POOL_GEOMETRIES = [
    # x shape, pool_size, stride, padding
    ((2, 5, 6, 2), 3, 2, "same"),             # overlapping windows, asymmetric SAME
    ((1, 6, 6, 2), 2, None, "valid"),
    ((1, 5, 4, 1), (2, 3), (1, 2), "same"),
    ((1, 7, 7, 1), 2, 3, "valid"),            # stride larger than the pool
]


@pytest.mark.parametrize("xs, pool, stride, padding", POOL_GEOMETRIES,
                         ids=[f"{g[0]}-p{g[1]}-s{g[2]}-{g[3]}" for g in POOL_GEOMETRIES])
def test_max_pool2d_backward_finite_differences(m, xs, pool, stride, padding):
    rng = np.random.default_rng(2)
    # distinct values at least 1/7 apart: a 1e-6 step never changes a window's maximum
    x = rng.permutation(int(np.prod(xs))).reshape(xs) / 7.0 - 1.0
    kw = dict(pool_size=pool, stride=stride, padding=padding)
    dy = rng.uniform(-1, 1, np.shape(m.max_pool2d(x, **kw)))

    def loss():
        return float(np.sum(m.max_pool2d(x, **kw) * dy))

    check(m.max_pool2d_backward(dy, x, **kw), numerical_gradient(loss, x), "dx")


@pytest.mark.parametrize("xs", [(7, 3), (3, 4, 2, 2), (1, 2, 3, 2)], ids=str)
def test_batch_norm_backward_finite_differences(m, xs):
    rng = np.random.default_rng(3)
    x = rng.normal(0.3, 1.5, xs)
    gamma = rng.uniform(0.5, 1.5, xs[-1])
    beta = rng.uniform(-1, 1, xs[-1])
    dy = rng.uniform(-1, 1, xs)

    def loss():
        return float(np.sum(m.batch_norm_train(x, gamma, beta)[0] * dy))

    _, mean, var = m.batch_norm_train(x, gamma, beta)
    dx, dgamma, dbeta = m.batch_norm_backward(dy, x, gamma, mean, var)
    check(dx, numerical_gradient(loss, x, h=1e-5), "dx", rtol=1e-5)
    check(dgamma, numerical_gradient(loss, gamma, h=1e-5), "dgamma", rtol=1e-5)
    check(dbeta, numerical_gradient(loss, beta, h=1e-5), "dbeta", rtol=1e-5)


def test_batch_norm_backward_with_explicit_eps(m):
    rng = np.random.default_rng(4)
    x = rng.normal(0, 0.05, (5, 2))              # small variance: eps matters
    gamma, beta = np.array([1.2, -0.7]), np.array([0.1, 0.2])
    dy = rng.uniform(-1, 1, x.shape)
    eps = 0.01

    def loss():
        return float(np.sum(m.batch_norm_train(x, gamma, beta, eps=eps)[0] * dy))

    _, mean, var = m.batch_norm_train(x, gamma, beta, eps=eps)
    dx, dgamma, _ = m.batch_norm_backward(dy, x, gamma, mean, var, eps=eps)
    check(dx, numerical_gradient(loss, x, h=1e-6), "dx", rtol=1e-5)
    check(dgamma, numerical_gradient(loss, gamma, h=1e-5), "dgamma", rtol=1e-5)


def test_dense_backward_finite_differences(m):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (4, 5))
    w = rng.uniform(-1, 1, (5, 3))
    b = rng.uniform(-1, 1, 3)
    dy = rng.uniform(-1, 1, (4, 3))

    def loss():
        return float(np.sum(m.dense(x, w, b) * dy))

    dx, dw, db = m.dense_backward(dy, x, w)
    check(dx, numerical_gradient(loss, x), "dx")
    check(dw, numerical_gradient(loss, w), "dw")
    check(db, numerical_gradient(loss, b), "db")


def test_relu_backward_finite_differences(m):
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (3, 4, 2, 2))
    x[np.abs(x) < 1e-3] = 0.5                   # stay away from the kink
    dy = rng.uniform(-1, 1, x.shape)

    def loss():
        return float(np.sum(m.relu(x) * dy))

    check(m.relu_backward(dy, x), numerical_gradient(loss, x), "dx")


@pytest.mark.parametrize("shape", [(5, 4), (1, 3), (3, 1)], ids=str)
def test_softmax_cross_entropy_finite_differences(m, shape):
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 2, shape)
    labels = rng.integers(0, shape[1], shape[0])

    def loss():
        return float(m.softmax_cross_entropy(logits, labels)[0])

    _, dlogits = m.softmax_cross_entropy(logits, labels)
    check(dlogits, numerical_gradient(loss, logits, h=1e-5), "dlogits", rtol=1e-5)
