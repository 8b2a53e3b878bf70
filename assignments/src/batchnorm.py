# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 4, part 2: batch normalization
#
# This assignment covers the third question of the lesson-4 exam (10 of its 25 points): describe
# batch normalization, its training algorithm, its inference algorithm, and over what it
# normalizes in fully connected and in convolutional layers.
#
# You will implement, in plain NumPy, `batch_norm_train`, `batch_norm_infer`,
# `update_moving_stats` and `batch_norm_backward`, for dense input `(N, F)` and convolutional
# input `(N, H, W, C)` alike. They are graded automatically (visible tests help you, hidden
# tests compare with the compiled `cnncore` on many generated cases); the written answer at the
# end is graded by hand.
#
# **Conventions** (as in Keras and `cnncore`): normalize over every axis but the last (the
# features or channels); the batch variance is the *biased* one (divide by $m$); `eps=1e-3`;
# the moving averages start at mean 0 and variance 1 and are updated with
# `moving = momentum * moving + (1 - momentum) * batch`, `momentum=0.99`.
#
# Rules: NumPy only (no `cnncore`, `torch`, ... inside your functions), do not modify your inputs,
# return new arrays, keep the input's dtype, keep the names and signatures.

# %% kind="setup"
import numpy as np
import matplotlib.pyplot as plt
from matplotlib import cbook

import cnncore            # the reference library, used here only to draw the pictures

# %% [markdown]
# ## 1. Why normalize?
#
# Every update of the early layers changes the distribution of what the later layers receive,
# so they keep chasing a moving target. Batch normalization (Ioffe and Szegedy, 2015) normalizes
# each feature of a layer's input over the current batch to mean 0 and variance 1, then lets the
# network choose the scale and shift it wants with two learned vectors $\gamma$ and $\beta$:
#
# $$ \mu = \frac1m \sum_{i=1}^m x^{(i)}, \qquad \sigma^2 = \frac1m \sum_{i=1}^m (x^{(i)} - \mu)^2, \qquad
#    \hat x^{(i)} = \frac{x^{(i)} - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \qquad y^{(i)} = \gamma \hat x^{(i)} + \beta. $$
#
# Below: a photograph through a convolutional layer with random weights. The four channels of
# its output have very different means and spreads (left); after batch normalization each channel
# is centred with unit variance (right), and $\gamma, \beta$ would then move them where training
# wants.

# %%
with cbook.get_sample_data("grace_hopper.jpg") as f:
    photo = plt.imread(f).astype(np.float64) / 255.0
batch = np.stack([photo[:256, :256], photo[256:512, :256], photo[:256, 256:512], photo[256:512, 256:512]])
batch = batch[:, ::4, ::4, :]                                                  # (4, 64, 64, 3)
rng = np.random.default_rng(4)
kernel = rng.normal(size=(3, 3, 3, 4)) * np.array([0.2, 1.0, 3.0, 0.5])
bias = np.array([1.0, -2.0, 0.0, 4.0])
activations = cnncore.conv2d(batch, kernel, bias, padding="same")              # (4, 64, 64, 4)
normalized, batch_mean, batch_var = cnncore.batch_norm_train(activations, np.ones(4), np.zeros(4))

fig, axes = plt.subplots(1, 2, figsize=(13, 4), sharey=True)
for c in range(4):
    axes[0].hist(activations[..., c].ravel(), bins=80, histtype="step", lw=2, label=f"channel {c}")
    axes[1].hist(normalized[..., c].ravel(), bins=80, histtype="step", lw=2, label=f"channel {c}")
axes[0].set_title("activations of a conv layer, per channel")
axes[1].set_title("after batch normalization (gamma = 1, beta = 0)")
axes[0].legend()
plt.show()

# %% [markdown]
# ## 2. Over what is normalized?
#
# * **Dense layers**, input `(N, F)`: each feature (neuron) separately, over the `N` examples of
#   the batch: `F` means and variances.
# * **Convolutional layers**, input `(N, H, W, C)`: each channel separately, over the batch **and
#   every position**: `C` means and variances, each over $m = N \cdot H \cdot W$ values. A channel is
#   one feature detector applied everywhere, so all its positions share one normalization (and one
#   $\gamma$, $\beta$), which keeps the layer translation-equivariant.
#
# In both cases: every axis but the last. The picture marks the values that share one mean.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
dense = np.zeros((8, 6)); dense[:, 2] = 1
axes[0].imshow(dense, cmap="Blues", vmin=0, vmax=1.3)
axes[0].set_title("dense (N=8, F=6): feature 2, over the batch")
axes[0].set_xlabel("feature"); axes[0].set_ylabel("example in the batch")
conv = np.zeros((4, 5 * 6)); conv[:, 2 * 5:3 * 5] = 1      # (N, C * positions), channel 2 marked
axes[1].imshow(conv, cmap="Oranges", vmin=0, vmax=1.3, aspect="auto")
axes[1].set_title("conv (N=4, C=6, 5 positions each): channel 2, over batch and positions")
axes[1].set_xlabel("channel-major: 5 positions of channel 0, of channel 1, ...")
axes[1].set_ylabel("example in the batch")
plt.show()

# %% [markdown]
# ### Exercise 1 (autograded): `batch_norm_train`
#
# Write `batch_norm_train(x, gamma, beta, eps=1e-3)` returning `(y, mean, var)`: `y` the shape of
# `x`; `mean` and `var` the batch statistics, one per feature/channel, shape `(C,)`, the variance
# biased (divided by $m$). It must work for `(N, F)` and for `(N, H, W, C)`.

# %% kind="solution" function="batch_norm_train"

# %% kind="visible" grade_id="visible_batch_norm_train"
# Visible tests.
x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0], [7.0, 20.0]])   # 4 examples, 2 features
y, mean, var = batch_norm_train(x, gamma=np.ones(2), beta=np.zeros(2), eps=0.0)
np.testing.assert_allclose(mean, [4.0, 20.0])
np.testing.assert_allclose(var, [5.0, 150.0], err_msg="the biased variance: divide by m = 4")
np.testing.assert_allclose(y.mean(axis=0), [0, 0], atol=1e-12)
np.testing.assert_allclose(y.std(axis=0), [1, 1])
y2, _, _ = batch_norm_train(x, gamma=np.array([2.0, 1.0]), beta=np.array([0.0, 5.0]), eps=0.0)
np.testing.assert_allclose(y2, y * [2, 1] + [0, 5])

images = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 3, 3, 4))
y, mean, var = batch_norm_train(images, np.ones(4), np.zeros(4))
assert mean.shape == (4,) and var.shape == (4,), "one mean and variance per channel"
np.testing.assert_allclose(mean, images.mean(axis=(0, 1, 2)))
assert batch_norm_train(images.astype(np.float32), np.ones(4, np.float32), np.zeros(4, np.float32))[0].dtype == np.float32
print("visible tests passed")

# %% kind="tests" check="batch_norm_train" points=4

# %% [markdown]
# ### Exercise 2 (autograded): `update_moving_stats` and `batch_norm_infer`
#
# At inference there may be a single example, and the output must not depend on which other
# examples share its batch. So during training we keep exponential moving averages of the batch
# statistics, and use those at inference:
#
# * `update_moving_stats(moving_mean, moving_var, mean, var, momentum=0.99)` returns the new
#   `(moving_mean, moving_var)` (new arrays: do not update in place);
# * `batch_norm_infer(x, gamma, beta, moving_mean, moving_var, eps=1e-3)` normalizes with them.

# %% kind="solution" function="update_moving_stats"

# %% kind="visible" grade_id="visible_update_moving_stats"
# Visible tests.
mm, mv = np.zeros(2), np.ones(2)
new_mean, new_var = update_moving_stats(mm, mv, np.array([10.0, 20.0]), np.array([5.0, 1.0]), momentum=0.9)
np.testing.assert_allclose(new_mean, [1.0, 2.0], err_msg="0.9 * old + 0.1 * batch")
np.testing.assert_allclose(new_var, [1.4, 1.0])
np.testing.assert_array_equal(mm, [0, 0], err_msg="do not modify the inputs")
print("visible tests passed")

# %% [markdown]
# The moving averages during "training" on batches of 32 values drawn with mean 2 and variance 9:
# with momentum 0.99 they move slowly and smoothly, with 0.9 fast and noisily.

# %%
rng = np.random.default_rng(1)
history = {0.9: [], 0.99: []}
for momentum in history:
    mm, mv = np.zeros(1), np.ones(1)
    for step in range(600):
        b = rng.normal(2.0, 3.0, size=(32, 1))
        mm, mv = update_moving_stats(mm, mv, b.mean(axis=0), b.var(axis=0), momentum=momentum)
        history[momentum].append((mm[0], mv[0]))
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for momentum, h in history.items():
    h = np.array(h)
    axes[0].plot(h[:, 0], label=f"momentum {momentum}")
    axes[1].plot(h[:, 1], label=f"momentum {momentum}")
axes[0].axhline(2, color="k", ls=":"); axes[1].axhline(9, color="k", ls=":")
axes[0].set_title("moving mean"); axes[1].set_title("moving variance"); axes[0].legend()
axes[1].set_xlabel("training step")
plt.show()

# %% kind="tests" check="update_moving_stats" points=2

# %% kind="solution" function="batch_norm_infer"

# %% kind="visible" grade_id="visible_batch_norm_infer"
# Visible tests.
x = np.array([[1.0, 10.0], [3.0, 10.0]])
y = batch_norm_infer(x, np.ones(2), np.zeros(2), moving_mean=np.array([1.0, 0.0]),
                     moving_var=np.array([4.0, 100.0]), eps=0.0)
np.testing.assert_allclose(y, [[0.0, 1.0], [1.0, 1.0]], err_msg="(x - moving_mean) / sqrt(moving_var)")
one = batch_norm_infer(x[:1], np.ones(2), np.zeros(2), np.array([1.0, 0.0]), np.array([4.0, 100.0]), eps=0.0)
np.testing.assert_allclose(one, y[:1], err_msg="an example's output must not depend on its batch")
print("visible tests passed")

# %% kind="tests" check="batch_norm_infer" points=2

# %% [markdown]
# ### Exercise 3 (autograded): `batch_norm_backward`
#
# Given `dy` $= \partial L / \partial y$, return `(dx, dgamma, dbeta)`. `dgamma` and `dbeta` are
# sums over every axis but the last. For `dx` remember that the batch mean and variance are
# functions of `x` too: every $x^{(i)}$ influences every $y^{(j)}$ of its channel.

# %% kind="solution" function="batch_norm_backward"

# %% kind="visible" grade_id="visible_batch_norm_backward"
# Visible tests: a finite-difference check of a small dense case, with your forward pass.
rng = np.random.default_rng(2)
x = rng.normal(1.0, 2.0, size=(5, 3))
gamma, beta = rng.uniform(0.5, 2, size=3), rng.normal(size=3)
dy = rng.normal(size=(5, 3))
_, mean, var = batch_norm_train(x, gamma, beta)
dx, dgamma, dbeta = batch_norm_backward(dy, x, gamma, mean, var)
assert dx.shape == x.shape and dgamma.shape == (3,) and dbeta.shape == (3,)
np.testing.assert_allclose(dbeta, dy.sum(axis=0))
h = 1e-6
for index in [(0, 0), (4, 2), (2, 1)]:
    e = np.zeros_like(x); e[index] = h
    numeric = (np.sum(batch_norm_train(x + e, gamma, beta)[0] * dy)
               - np.sum(batch_norm_train(x - e, gamma, beta)[0] * dy)) / (2 * h)
    assert abs(numeric - dx[index]) < 1e-5, f"dx{index}: numeric {numeric:.6f}, yours {dx[index]:.6f}"
print("visible tests passed")

# %% kind="tests" check="batch_norm_backward" points=4

# %% [markdown]
# ## 3. Written answer (graded by hand)
#
# **Question 3 [10 points].** Describe batch normalization and write down an algorithm for how it is
# used during training and one for how it is used during inference. Say explicitly over what it
# normalizes in fully connected layers and in convolutional layers.

# %% [markdown] kind="written" grade_id="q3_batchnorm" points=10
