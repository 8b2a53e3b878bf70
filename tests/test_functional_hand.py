"""Hand-computed tiny cases of the functional API.

Every expected value below was worked out by hand (the working is in the
comments), not by running any implementation.  Each test runs on both the
NumPy oracle (tests/reference.py) and cnncore, so a wrong hand value, a wrong
oracle and a wrong library cannot agree by accident.
"""
import math

import numpy as np
import pytest

import cnncore
from oracle_support import impl


def img(rows):
    """A one-image, one-channel batch (1, H, W, 1) from a nested list."""
    return np.array(rows, dtype=np.float64)[None, :, :, None]


def ker(rows):
    """A one-in, one-out kernel (KH, KW, 1, 1) from a nested list."""
    return np.array(rows, dtype=np.float64)[:, :, None, None]


X3 = img([[1, 2, 3],
          [4, 5, 6],
          [7, 8, 9]])
K2 = ker([[1, 0],
          [0, -1]])


# ----------------------------------------------------------------- output size and padding

# (size, kernel, stride, padding, dilation) -> (out, (before, after)), each worked out by hand:
SIZE_TABLE = [
    # SAME: out = ceil(3/2) = 2; total = (2-1)*2 + 2 - 3 = 1 -> (0, 1): the extra row at the bottom
    ((3, 2, 2, "same", 1), (2, (0, 1))),
    # VALID: floor((3-2)/2) + 1 = 1
    ((3, 2, 2, "valid", 1), (1, (0, 0))),
    # VGG: 224, 3x3, stride 1, SAME -> 224, total = 223 + 3 - 224 = 2 -> (1, 1)
    ((224, 3, 1, "same", 1), (224, (1, 1))),
    # VALID shrinks by kernel - 1, not by the kernel: 5 - 3 + 1 = 3
    ((5, 3, 1, "valid", 1), (3, (0, 0))),
    # floor((7-3)/2) + 1 = 3;  SAME: ceil(7/2) = 4, total = 3*2 + 3 - 7 = 2 -> (1, 1)
    ((7, 3, 2, "valid", 1), (3, (0, 0))),
    ((7, 3, 2, "same", 1), (4, (1, 1))),
    # even size, odd total: ceil(6/2) = 3, total = 2*2 + 3 - 6 = 1 -> (0, 1)
    ((6, 3, 2, "same", 1), (3, (0, 1))),
    # dilation 2: effective kernel 5; total = 9 + 5 - 10 = 4 -> (2, 2)
    ((10, 3, 1, "same", 2), (10, (2, 2))),
    # dilation 2 VALID: 5 - 5 + 1 = 1
    ((5, 3, 1, "valid", 2), (1, (0, 0))),
    # explicit int padding 1: (5 + 2 - 3) + 1 = 5
    ((5, 3, 1, 1, 1), (5, (1, 1))),
    # explicit 2, stride 2: floor((6 + 4 - 3) / 2) + 1 = 4
    ((6, 3, 2, 2, 1), (4, (2, 2))),
    # 1x1 image, 1x1 kernel
    ((1, 1, 1, "valid", 1), (1, (0, 0))),
    # kernel equal to the image
    ((4, 4, 1, "valid", 1), (1, (0, 0))),
    # stride larger than the kernel: floor((5-2)/3) + 1 = 2
    ((5, 2, 3, "valid", 1), (2, (0, 0))),
    # SAME on a 1-pixel image with a 3-kernel: out 1, total = 0 + 3 - 1 = 2 -> (1, 1)
    ((1, 3, 2, "same", 1), (1, (1, 1))),
    # SAME where the stride skips cells: ceil(6/4) = 2, total = max(4 + 1 - 6, 0) = 0
    ((6, 1, 4, "same", 1), (2, (0, 0))),
]


@pytest.mark.parametrize("args, expected", SIZE_TABLE, ids=[str(a) for a, _ in SIZE_TABLE])
def test_conv_output_size_and_padding_by_hand(m, args, expected):
    size, k, stride, padding, dilation = args
    out, pads = expected
    assert m.conv_output_size(size, k, stride, padding, dilation) == out
    assert tuple(m.conv_padding(size, k, stride, padding, dilation)) == pads
    # keywords, as the API reference names them
    assert m.conv_output_size(size, k, stride=stride, padding=padding, dilation=dilation) == out


def test_conv_size_defaults_are_valid_stride1(m):
    assert m.conv_output_size(5, 3) == 3
    assert tuple(m.conv_padding(5, 3)) == (0, 0)


# ----------------------------------------------------------------- conv2d

def test_conv2d_3x3_image_2x2_kernel_stride2_same(m):
    # SAME pads one zero row at the bottom and one zero column at the right:
    #   1 2 3 0
    #   4 5 6 0        kernel  1  0
    #   7 8 9 0                0 -1
    #   0 0 0 0
    # windows at rows/cols {0,1} and {2,3}:
    #   (0,0): 1 - 5 = -4    (0,1): 3 - 0 = 3
    #   (1,0): 7 - 0 = 7     (1,1): 9 - 0 = 9
    y = m.conv2d(X3, K2, stride=2, padding="same")
    np.testing.assert_allclose(y, img([[-4, 3], [7, 9]]), rtol=0, atol=1e-12)
    y = m.conv2d(X3, K2, bias=np.array([0.5]), stride=2, padding="same")
    np.testing.assert_allclose(y, img([[-3.5, 3.5], [7.5, 9.5]]), rtol=0, atol=1e-12)


def test_conv2d_3x3_image_2x2_kernel_stride2_valid(m):
    # VALID: only the window at (0, 0) fits: 1 - 5 = -4
    y = m.conv2d(X3, K2, stride=2, padding="valid")
    np.testing.assert_allclose(y, img([[-4]]), rtol=0, atol=1e-12)
    # stride 1 VALID: 2x2 output, each x[i,j] - x[i+1,j+1] = -4
    y = m.conv2d(X3, K2)
    np.testing.assert_allclose(y, img([[-4, -4], [-4, -4]]), rtol=0, atol=1e-12)


def test_conv2d_backward_3x3_image_2x2_kernel_stride2_same(m):
    # dy = 1 everywhere.  Windows do not overlap (stride = kernel = 2), so each
    # padded cell (2i+a, 2j+b) receives K[a, b]; cropping the padding gives
    #   dx = 1  0  1
    #        0 -1  0
    #        1  0  1
    # dK[a, b] = sum of the padded cells (2i+a, 2j+b):
    #   dK[0,0] = 1+3+7+9 = 20, dK[0,1] = 2+0+8+0 = 10, dK[1,0] = 4+6+0+0 = 10, dK[1,1] = 5
    # dbias = number of outputs = 4
    dy = np.ones((1, 2, 2, 1))
    dx, dk, db = m.conv2d_backward(dy, X3, K2, stride=2, padding="same")
    np.testing.assert_allclose(dx, img([[1, 0, 1], [0, -1, 0], [1, 0, 1]]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dk, ker([[20, 10], [10, 5]]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(db, [4.0], rtol=0, atol=1e-12)


def test_conv2d_dilation_and_stride_by_hand(m):
    # one row [1 2 3 4 5], kernel [1 1] with dilation 2: y[j] = x[j] + x[j+2]
    x = img([[1, 2, 3, 4, 5]])
    k = ker([[1, 1]])
    np.testing.assert_allclose(m.conv2d(x, k, dilation=2), img([[4, 6, 8]]), atol=1e-12)
    # stride (rows, cols) = (1, 2): every other one of those
    np.testing.assert_allclose(m.conv2d(x, k, stride=(1, 2), dilation=(1, 2)), img([[4, 8]]), atol=1e-12)
    # SAME, dilation 2: effective kernel 3, total padding 2 -> (1, 1): [0 1 2 3 4 5 0]
    #   -> [0+2, 1+3, 2+4, 3+5, 4+0]
    np.testing.assert_allclose(m.conv2d(x, k, padding="same", dilation=2), img([[2, 4, 6, 8, 4]]),
                               atol=1e-12)


def test_conv2d_explicit_asymmetric_padding_by_hand(m):
    # ((top, bottom), (left, right)) = ((1, 0), (0, 2)), all-ones 2x2 kernel:
    #   0 0 0 0
    #   1 2 0 0
    #   3 4 0 0
    # -> [[0+0+1+2, 0+0+2+0, 0], [1+2+3+4, 2+0+4+0, 0]]
    x = img([[1, 2], [3, 4]])
    k = ker([[1, 1], [1, 1]])
    y = m.conv2d(x, k, padding=((1, 0), (0, 2)))
    np.testing.assert_allclose(y, img([[3, 2, 0], [10, 6, 0]]), atol=1e-12)
    # (ph, pw) = (1, 0): one zero row above and below, no columns:
    #   0 0 / 1 2 / 3 4 / 0 0 -> [3, 10, 7]
    y = m.conv2d(x, k, padding=(1, 0))
    np.testing.assert_allclose(y, img([[3], [10], [7]]), atol=1e-12)
    # int 1: one zero ring -> 3x3 output of 2x2 window sums of
    #   0 0 0 0 / 0 1 2 0 / 0 3 4 0 / 0 0 0 0
    y = m.conv2d(x, k, padding=1)
    np.testing.assert_allclose(y, img([[1, 3, 2], [4, 10, 6], [3, 7, 4]]), atol=1e-12)


def test_conv2d_channel_axes_by_hand(m):
    # 1x1 image with channels [2, 3]; kernel K[0, 0, c, o] = [[1, 10], [100, 1000]]
    # y[o] = 2 * K[0, 0, 0, o] + 3 * K[0, 0, 1, o] = [2 + 300, 20 + 3000]
    x = np.array([2.0, 3.0]).reshape(1, 1, 1, 2)
    k = np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(1, 1, 2, 2)
    np.testing.assert_allclose(m.conv2d(x, k), np.array([302.0, 3020.0]).reshape(1, 1, 1, 2))
    # rows vs columns: a (2, 1) kernel [[1], [-1]] on [[1, 2], [4, 8]] is x[0, j] - x[1, j]
    y = m.conv2d(img([[1, 2], [4, 8]]), ker([[1], [-1]]))
    np.testing.assert_allclose(y, img([[-3, -6]]), atol=1e-12)


# ----------------------------------------------------------------- max pooling

def test_max_pool_3x3_pool2_stride2_same(m):
    # padding (0, 1) with -inf: windows {1,2,4,5} {3,6} {7,8} {9}
    np.testing.assert_array_equal(m.max_pool2d(X3, 2, 2, "same"), img([[5, 6], [8, 9]]))
    # stride None means stride = pool_size
    np.testing.assert_array_equal(m.max_pool2d(X3, 2, padding="same"), img([[5, 6], [8, 9]]))
    np.testing.assert_array_equal(m.max_pool2d(X3), img([[5]]))


def test_max_pool_same_padding_is_ignored_not_zero(m):
    # all values negative: zero padding would give 0 at the borders; -inf padding never wins
    np.testing.assert_array_equal(m.max_pool2d(-X3, 2, 2, "same"), img([[-1, -3], [-7, -9]]))


def test_max_pool_backward_ties_go_to_first_in_row_major_order(m):
    # all equal: the whole gradient goes to the top-left cell
    dx = m.max_pool2d_backward(img([[7.0]]), np.ones((1, 2, 2, 1)))
    np.testing.assert_array_equal(dx, img([[7, 0], [0, 0]]))
    # [[0, 3], [3, 1]]: the maximum 3 appears at (0, 1) and (1, 0); (0, 1) comes first
    dx = m.max_pool2d_backward(img([[2.0]]), img([[0, 3], [3, 1]]))
    np.testing.assert_array_equal(dx, img([[0, 2], [0, 0]]))


def test_max_pool_backward_overlapping_windows_add_up(m):
    # row [1 3 2], pool (1, 2), stride 1: windows [1 3] -> 3 and [3 2] -> 3;
    # both gradients land on the 3: dx = [0, 1 + 10, 0]
    x = img([[1, 3, 2]])
    np.testing.assert_array_equal(m.max_pool2d(x, (1, 2), 1), img([[3, 3]]))
    dx = m.max_pool2d_backward(img([[1.0, 10.0]]), x, (1, 2), 1)
    np.testing.assert_array_equal(dx, img([[0, 11, 0]]))


def test_max_pool_backward_same_padding_by_hand(m):
    # windows {1,2,4,5} {3,6} {7,8} {9}: maxima at 5, 6, 8, 9
    dy = img([[1.0, 2.0], [3.0, 4.0]])
    dx = m.max_pool2d_backward(dy, X3, 2, 2, "same")
    np.testing.assert_array_equal(dx, img([[0, 0, 0], [0, 1, 2], [0, 3, 4]]))


@pytest.mark.parametrize("shape", [(2, 0, 4, 3), (1, 3, 0, 2)])
def test_max_pool_of_padding_alone_is_minus_inf_and_routes_nothing(shape):
    # an image of no rows (or columns), padded by 1: every 2x2 window holds padding only
    x = np.ones(shape, np.float32)
    y = cnncore.max_pool2d(x, 2, padding=1)
    assert y.size and np.all(y == -np.inf)
    dx = cnncore.max_pool2d_backward(np.ones_like(y), x, 2, padding=1)
    assert dx.shape == shape and dx.dtype == np.float32


# ----------------------------------------------------------------- batch normalization

def test_batch_norm_train_dense_uses_biased_variance(m):
    # x = [1, 3]: mean 2, biased variance ((1-2)^2 + (3-2)^2) / 2 = 1 (the unbiased one would be 2)
    x = np.array([[1.0], [3.0]])
    y, mean, var = m.batch_norm_train(x, np.array([1.0]), np.array([0.0]))
    np.testing.assert_allclose(mean, [2.0])
    np.testing.assert_allclose(var, [1.0])
    s = 1 / math.sqrt(1.0 + 1e-3)                     # default eps = 1e-3
    np.testing.assert_allclose(y, [[-s], [s]], rtol=1e-12)


def test_batch_norm_train_conv_normalizes_each_channel_over_batch_and_positions(m):
    # x[b, h, w, c], shape (2, 1, 2, 2):
    #   channel 0 values 1, 2, 3, 6 -> mean 3, var (4 + 1 + 0 + 9) / 4 = 3.5
    #   channel 1 values all 10     -> mean 10, var 0, so y = beta
    x = np.zeros((2, 1, 2, 2))
    x[:, :, :, 0] = [[[1, 2]], [[3, 6]]]
    x[:, :, :, 1] = 10
    gamma, beta = np.array([2.0, 1.0]), np.array([0.5, -1.0])
    y, mean, var = m.batch_norm_train(x, gamma, beta, eps=0.5)
    np.testing.assert_allclose(mean, [3.0, 10.0])
    np.testing.assert_allclose(var, [3.5, 0.0], atol=1e-12)
    expected0 = 2 * (np.array([[[1, 2]], [[3, 6]]]) - 3) / math.sqrt(3.5 + 0.5) + 0.5
    np.testing.assert_allclose(y[..., 0], expected0, rtol=1e-12)
    np.testing.assert_allclose(y[..., 1], -1.0, rtol=1e-12)


def test_batch_norm_infer_uses_moving_statistics(m):
    # y = gamma (x - moving_mean) / sqrt(moving_var + eps) + beta = 2 (x - 1) / sqrt(3.001) + 1
    x = np.array([[1.0], [3.0]])
    y = m.batch_norm_infer(x, np.array([2.0]), np.array([1.0]), np.array([1.0]), np.array([3.0]))
    np.testing.assert_allclose(y, [[1.0], [1.0 + 4 / math.sqrt(3.001)]], rtol=1e-12)


def test_update_moving_stats_keras_momentum(m):
    # 0.99 * 0 + 0.01 * 2 = 0.02;  0.99 * 1 + 0.01 * 5 = 1.04
    mm, mv = np.array([0.0]), np.array([1.0])
    new_mean, new_var = m.update_moving_stats(mm, mv, np.array([2.0]), np.array([5.0]))
    np.testing.assert_allclose(new_mean, [0.02], rtol=1e-12)
    np.testing.assert_allclose(new_var, [1.04], rtol=1e-12)
    assert mm[0] == 0.0 and mv[0] == 1.0, "update_moving_stats must return new arrays"
    # explicit momentum 0.5: (0 + 2) / 2 = 1, (1 + 5) / 2 = 3
    new_mean, new_var = m.update_moving_stats(mm, mv, np.array([2.0]), np.array([5.0]), momentum=0.5)
    np.testing.assert_allclose(new_mean, [1.0])
    np.testing.assert_allclose(new_var, [3.0])


def test_batch_norm_backward_constant_dy_by_hand(m):
    # a constant upstream gradient c only shifts the output, which batch norm
    # removes: dx = 0, dgamma = c * sum(x_hat) = 0, dbeta = c * m (m = 4 values per channel)
    x = np.array([[1.0, 5.0], [2.0, -1.0], [4.0, 0.0], [9.0, 2.0]])
    gamma = np.array([1.5, -0.5])
    mean, var = x.mean(axis=0), x.var(axis=0)
    dx, dgamma, dbeta = m.batch_norm_backward(np.full_like(x, 3.0), x, gamma, mean, var)
    np.testing.assert_allclose(dx, 0.0, atol=1e-12)
    np.testing.assert_allclose(dgamma, 0.0, atol=1e-12)
    np.testing.assert_allclose(dbeta, [12.0, 12.0], rtol=1e-12)


# ----------------------------------------------------------------- dense, relu, softmax

def test_dense_by_hand(m):
    # [1 2] @ [[1 0 1], [0 1 1]] + [0 0 10] = [1, 2, 13]
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    np.testing.assert_allclose(m.dense(x, w, np.array([0.0, 0.0, 10.0])), [[1, 2, 13]])
    np.testing.assert_allclose(m.dense(x, w), [[1, 2, 3]])
    # dy = [1 1 1]: dx = dy w^T = [2, 2]; dw = x^T dy = [[1 1 1], [2 2 2]]; db = [1 1 1]
    dx, dw, db = m.dense_backward(np.ones((1, 3)), x, w)
    np.testing.assert_allclose(dx, [[2, 2]])
    np.testing.assert_allclose(dw, [[1, 1, 1], [2, 2, 2]])
    np.testing.assert_allclose(db, [1, 1, 1])


def test_relu_by_hand(m):
    x = np.array([[-2.0, -0.5, 0.5, 2.0]])
    np.testing.assert_array_equal(m.relu(x), [[0, 0, 0.5, 2]])
    np.testing.assert_array_equal(m.relu_backward(np.array([[1.0, 2.0, 3.0, 4.0]]), x), [[0, 0, 3, 4]])


def test_relu_gradient_at_zero_is_zero(m):
    # the subgradient at exactly 0 is taken as 0, as PyTorch and TensorFlow do
    x = np.array([[0.0, -0.0]])
    np.testing.assert_array_equal(m.relu(x), [[0, 0]])
    np.testing.assert_array_equal(m.relu_backward(np.array([[5.0, 5.0]]), x), [[0, 0]])


def test_softmax_by_hand(m):
    # exp([0, ln 3]) = [1, 3] -> [1/4, 3/4]
    np.testing.assert_allclose(m.softmax(np.array([[0.0, math.log(3)]])), [[0.25, 0.75]], rtol=1e-12)
    # axis=0: the same along columns
    np.testing.assert_allclose(m.softmax(np.array([[0.0], [math.log(3)]]), axis=0), [[0.25], [0.75]],
                               rtol=1e-12)
    # shift invariance and no overflow at 1000
    np.testing.assert_allclose(m.softmax(np.array([[1000.0, 1000.0 + math.log(3)]])), [[0.25, 0.75]],
                               rtol=1e-12)


def test_softmax_cross_entropy_by_hand(m):
    # rows: [0, 0] with label 0 -> p = [1/2, 1/2], loss ln 2
    #       [0, ln 3] with label 1 -> p = [1/4, 3/4], loss -ln(3/4)
    # mean loss = (ln 2 - ln 0.75) / 2;  dlogits = (p - onehot) / N
    logits = np.array([[0.0, 0.0], [0.0, math.log(3)]])
    loss, dlogits = m.softmax_cross_entropy(logits, np.array([0, 1]))
    assert np.ndim(loss) == 0
    np.testing.assert_allclose(float(loss), (math.log(2) - math.log(0.75)) / 2, rtol=1e-12)
    np.testing.assert_allclose(dlogits, np.array([[-0.5, 0.5], [0.25, -0.25]]) / 2, rtol=1e-12)


def test_numpy_integers_are_ints(m):
    """Stride, dilation, padding and pool sizes computed with NumPy (np.int64) are ints too."""
    two, one = np.int64(2), np.int64(1)
    np.testing.assert_allclose(m.conv2d(X3, K2, stride=two, padding="same", dilation=one),
                               img([[-4, 3], [7, 9]]), atol=1e-12)
    np.testing.assert_allclose(m.conv2d(X3, K2, stride=(two, two), padding=(np.int64(0), np.int64(0))),
                               img([[-4]]), atol=1e-12)
    np.testing.assert_array_equal(m.max_pool2d(X3, two, two, "same"), img([[5, 6], [8, 9]]))
    assert m.conv_output_size(np.int64(7), np.int64(3), two, "same") == 4


def test_relu_and_its_gradient_write_into_out_and_keep_nan():
    m = impl("cnncore")     # out= is cnncore's, not the oracle's
    x = np.array([[-2.0, np.nan, 0.5, 2.0]])
    y = m.relu(x.copy())
    np.testing.assert_array_equal(y, [[0, np.nan, 0.5, 2]])
    inplace = x.copy()
    assert m.relu(inplace, out=inplace) is inplace
    np.testing.assert_array_equal(inplace, y)
    dy = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert m.relu_backward(dy, x, out=dy) is dy
    np.testing.assert_array_equal(dy, [[0, 0, 3, 4]])
    for bad in (np.empty((1, 3)), np.empty((1, 4), np.float32), np.empty((1, 8))[:, ::2]):
        with pytest.raises(ValueError, match="`out` must be a writeable C-contiguous array"):
            m.relu(x, out=bad)


def test_conv2d_backward_without_the_input_gradient():
    m = impl("cnncore")
    rng = np.random.default_rng(3)
    x, k = rng.standard_normal((2, 5, 6, 3)), rng.standard_normal((3, 3, 3, 4))
    dy = rng.standard_normal((2, 3, 3, 4))
    full = m.conv2d_backward(dy, x, k, stride=2, padding="same")
    dx, dk, db = m.conv2d_backward(dy, x, k, stride=2, padding="same", input_grad=False)
    assert dx is None
    np.testing.assert_array_equal(dk, full[1])
    np.testing.assert_array_equal(db, full[2])


def test_conv2d_relu_where_only_padding_is_under_the_kernel():
    m = impl("cnncore")
    x = np.zeros((1, 0, 0, 3), np.float32)
    y = m.conv2d(x, np.ones((3, 3, 3, 2), np.float32), np.array([-1.0, 2.0], np.float32),
                 padding=((2, 2), (2, 2)), relu=True)
    np.testing.assert_array_equal(y, np.broadcast_to([0.0, 2.0], (1, 2, 2, 2)))
