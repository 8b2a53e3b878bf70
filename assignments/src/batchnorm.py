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


# %% [markdown] lang="cs"
# # Lekce 4, část 2: dávková normalizace (batch normalization)
#
# Tento úkol pokrývá třetí otázku zkoušky z lekce 4 (10 z jejích 25 bodů): popište dávkovou
# normalizaci, její algoritmus při tréninku, její algoritmus při inferenci a přes co normalizuje
# v plně propojených a v konvolučních vrstvách.
#
# V čistém NumPy naprogramujete `batch_norm_train`, `batch_norm_infer`, `update_moving_stats`
# a `batch_norm_backward`, pro hustý (dense) vstup `(N, F)` i konvoluční vstup `(N, H, W, C)`.
# Hodnotí se automaticky (pomohou vám viditelné testy, skryté testy pak porovnají vaše funkce
# s kompilovaným `cnncore` na mnoha vygenerovaných případech); písemná odpověď na konci se
# hodnotí ručně.
#
# **Konvence** (jako v Kerasu a `cnncore`): normalizuje se přes všechny osy kromě poslední
# (příznaků nebo kanálů); rozptyl dávky je *vychýlený* (dělí se $m$); `eps=1e-3`; klouzavé
# průměry začínají se střední hodnotou 0 a rozptylem 1 a aktualizují se jako
# `moving = momentum * moving + (1 - momentum) * batch`, `momentum=0.99`.
#
# Pravidla: jen NumPy (uvnitř vašich funkcí žádné `cnncore`, `torch`, ...), neměňte své vstupy,
# vracejte nová pole, zachovejte datový typ vstupu, zachovejte názvy a signatury.

# %% kind="setup"
import numpy as np
import matplotlib.pyplot as plt
from matplotlib import cbook

import cnncore            # the reference library, used here only to draw the pictures


# %% lang="cs"
{"# the reference library, used here only to draw the pictures": "# referenční knihovna, zde jen pro kreslení obrázků"}

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


# %% [markdown] lang="cs"
# ## 1. Proč normalizovat?
#
# Když se během SGD změní váhy vrstev vlevo, změní se i distribuce hodnot, které dostávají vrstvy
# napravo, a ty pak musíme měnit jen kvůli této změně: honí pohyblivý cíl. Dávková normalizace
# (Ioffe a Szegedy, 2015) normalizuje každý příznak vstupu vrstvy přes aktuální dávku na střední
# hodnotu 0 a rozptyl 1 a pak síti dovolí pomocí dvou naučených vektorů $\gamma$ a $\beta$
# přeškálovat a posunout standardní rozdělení, kam potřebuje:
#
# $$ \mu = \frac1m \sum_{i=1}^m x^{(i)}, \qquad \sigma^2 = \frac1m \sum_{i=1}^m (x^{(i)} - \mu)^2, \qquad
#    \hat x^{(i)} = \frac{x^{(i)} - \mu}{\sqrt{\sigma^2 + \varepsilon}}, \qquad y^{(i)} = \gamma \hat x^{(i)} + \beta. $$
#
# Níže: fotografie prošlá konvoluční vrstvou s náhodnými vahami. Čtyři kanály jejího výstupu mají
# velmi různé střední hodnoty a rozptyly (vlevo); po dávkové normalizaci je každý kanál vycentrovaný
# s jednotkovým rozptylem (vpravo) a $\gamma, \beta$ by je pak posunuly tam, kam chce trénink.

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


# %% lang="cs"
{
    'label=f"channel {c}"': 'label=f"kanál {c}"',
    '"activations of a conv layer, per channel"': '"aktivace konvoluční vrstvy, po kanálech"',
    '"after batch normalization (gamma = 1, beta = 0)"': '"po dávkové normalizaci (gamma = 1, beta = 0)"',
}

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


# %% [markdown] lang="cs"
# ## 2. Přes co se normalizuje?
#
# * **Husté (plně propojené) vrstvy**, vstup `(N, F)`: každý příznak (neuron) sám za sebe, přes
#   `N` příkladů dávky: `F` středních hodnot a rozptylů.
# * **Konvoluční vrstvy**, vstup `(N, H, W, C)`: každý kanál sám za sebe, přes dávku **a všechny
#   pozice**: `C` středních hodnot a rozptylů, každý z $m = N \cdot H \cdot W$ hodnot. Kanál je
#   jeden detektor příznaku použitý všude, takže všechny jeho pozice sdílejí jednu normalizaci (a
#   jedno $\gamma$, $\beta$), což zachovává ekvivarianci vrstvy vůči posunutí.
#
# V obou případech: přes všechny osy kromě poslední. Obrázek vyznačuje hodnoty, které sdílejí
# jednu střední hodnotu.

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


# %% lang="cs"
{
    '"dense (N=8, F=6): feature 2, over the batch"': '"hustá (N=8, F=6): příznak 2, přes dávku"',
    '"feature"': '"příznak"',
    '"example in the batch"': '"příklad v dávce"',
    "# (N, C * positions), channel 2 marked": "# (N, C * pozice), vyznačený kanál 2",
    '"conv (N=4, C=6, 5 positions each): channel 2, over batch and positions"':
        '"konvoluční (N=4, C=6, po 5 pozicích): kanál 2, přes dávku a pozice"',
    '"channel-major: 5 positions of channel 0, of channel 1, ..."':
        '"po kanálech: 5 pozic kanálu 0, kanálu 1, ..."',
}

# %% [markdown]
# ### Exercise 1 (autograded): `batch_norm_train`
#
# Write `batch_norm_train(x, gamma, beta, eps=1e-3)` returning `(y, mean, var)`: `y` the shape of
# `x`; `mean` and `var` the batch statistics, one per feature/channel, shape `(C,)`, the variance
# biased (divided by $m$). It must work for `(N, F)` and for `(N, H, W, C)`.


# %% [markdown] lang="cs"
# ### Cvičení 1 (hodnoceno automaticky): `batch_norm_train`
#
# Napište `batch_norm_train(x, gamma, beta, eps=1e-3)`, která vrací `(y, mean, var)`: `y` tvaru
# `x`; `mean` a `var` statistiky dávky, jedna hodnota na příznak/kanál, tvar `(C,)`, rozptyl
# vychýlený (dělený $m$). Musí fungovat pro `(N, F)` i pro `(N, H, W, C)`.

# %% kind="solution" function="batch_norm_train"


# %% lang="cs"
{
    "Training-mode batch norm: normalize with the statistics of this batch.":
        "Dávková normalizace při tréninku: normalizuje statistikami této dávky.",
    "x: (N, F) or (N, H, W, C); gamma, beta: (F,) or (C,).": "x: (N, F) nebo (N, H, W, C); gamma, beta: (F,) nebo (C,).",
    "Returns y (the shape of x) and the batch mean and (biased) variance, shape (C,).":
        "Vrací y (tvar x) a střední hodnotu a (vychýlený) rozptyl dávky, tvar (C,).",
}

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


# %% lang="cs"
{
    "# Visible tests.": "# Viditelné testy.",
    "# 4 examples, 2 features": "# 4 příklady, 2 příznaky",
    'err_msg="the biased variance: divide by m = 4"': 'err_msg="vychýlený rozptyl: dělte m = 4"',
    '"one mean and variance per channel"': '"jedna střední hodnota a rozptyl na kanál"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

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


# %% [markdown] lang="cs"
# ### Cvičení 2 (hodnoceno automaticky): `update_moving_stats` a `batch_norm_infer`
#
# Při inferenci může přijít jediný příklad a výstup nesmí záviset na tom, s jakými dalšími příklady
# sdílí dávku. Během tréninku proto udržujeme exponenciální klouzavé průměry statistik dávek a při
# inferenci používáme ty:
#
# * `update_moving_stats(moving_mean, moving_var, mean, var, momentum=0.99)` vrací nové
#   `(moving_mean, moving_var)` (nová pole: neaktualizujte na místě);
# * `batch_norm_infer(x, gamma, beta, moving_mean, moving_var, eps=1e-3)` normalizuje pomocí nich.

# %% kind="solution" function="update_moving_stats"


# %% lang="cs"
{"One step of the exponential moving averages; returns new arrays.":
     "Jeden krok exponenciálních klouzavých průměrů, vrací nová pole."}

# %% kind="visible" grade_id="visible_update_moving_stats"
# Visible tests.
mm, mv = np.zeros(2), np.ones(2)
new_mean, new_var = update_moving_stats(mm, mv, np.array([10.0, 20.0]), np.array([5.0, 1.0]), momentum=0.9)
np.testing.assert_allclose(new_mean, [1.0, 2.0], err_msg="0.9 * old + 0.1 * batch")
np.testing.assert_allclose(new_var, [1.4, 1.0])
np.testing.assert_array_equal(mm, [0, 0], err_msg="do not modify the inputs")
print("visible tests passed")


# %% lang="cs"
{
    "# Visible tests.": "# Viditelné testy.",
    'err_msg="0.9 * old + 0.1 * batch"': 'err_msg="0.9 * staré + 0.1 * dávka"',
    'err_msg="do not modify the inputs"': 'err_msg="neměňte vstupy"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% [markdown]
# The moving averages during "training" on batches of 32 values drawn with mean 2 and variance 9:
# with momentum 0.99 they move slowly and smoothly, with 0.9 fast and noisily.


# %% [markdown] lang="cs"
# Klouzavé průměry během „tréninku“ na dávkách 32 hodnot se střední hodnotou 2 a rozptylem 9:
# s momentem 0.99 se mění pomalu a hladce, s 0.9 rychle a zašuměně.

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


# %% lang="cs"
{
    'label=f"momentum {momentum}"': 'label=f"moment {momentum}"',
    '"moving mean"': '"klouzavý průměr střední hodnoty"',
    '"moving variance"': '"klouzavý průměr rozptylu"',
    '"training step"': '"krok tréninku"',
}

# %% kind="tests" check="update_moving_stats" points=2

# %% kind="solution" function="batch_norm_infer"


# %% lang="cs"
{"Inference-mode batch norm: the statistics collected during training, not the batch's.":
     "Dávková normalizace při inferenci: statistiky nasbírané při tréninku, ne statistiky dávky."}

# %% kind="visible" grade_id="visible_batch_norm_infer"
# Visible tests.
x = np.array([[1.0, 10.0], [3.0, 10.0]])
y = batch_norm_infer(x, np.ones(2), np.zeros(2), moving_mean=np.array([1.0, 0.0]),
                     moving_var=np.array([4.0, 100.0]), eps=0.0)
np.testing.assert_allclose(y, [[0.0, 1.0], [1.0, 1.0]], err_msg="(x - moving_mean) / sqrt(moving_var)")
one = batch_norm_infer(x[:1], np.ones(2), np.zeros(2), np.array([1.0, 0.0]), np.array([4.0, 100.0]), eps=0.0)
np.testing.assert_allclose(one, y[:1], err_msg="an example's output must not depend on its batch")
print("visible tests passed")


# %% lang="cs"
{
    "# Visible tests.": "# Viditelné testy.",
    'err_msg="an example\'s output must not depend on its batch"': 'err_msg="výstup příkladu nesmí záviset na jeho dávce"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% kind="tests" check="batch_norm_infer" points=2

# %% [markdown]
# ### Exercise 3 (autograded): `batch_norm_backward`
#
# Given `dy` $= \partial L / \partial y$, return `(dx, dgamma, dbeta)`. `dgamma` and `dbeta` are
# sums over every axis but the last. For `dx` remember that the batch mean and variance are
# functions of `x` too: every $x^{(i)}$ influences every $y^{(j)}$ of its channel.


# %% [markdown] lang="cs"
# ### Cvičení 3 (hodnoceno automaticky): `batch_norm_backward`
#
# Pro dané `dy` $= \partial L / \partial y$ vraťte `(dx, dgamma, dbeta)`. `dgamma` a `dbeta` jsou
# součty přes všechny osy kromě poslední. U `dx` pamatujte, že střední hodnota a rozptyl dávky jsou
# také funkcemi `x`: každé $x^{(i)}$ ovlivňuje každé $y^{(j)}$ svého kanálu.

# %% kind="solution" function="batch_norm_backward"


# %% lang="cs"
{
    "Gradients of training-mode batch norm: (dx, dgamma, dbeta).":
        "Gradienty dávkové normalizace při tréninku: (dx, dgamma, dbeta).",
    "mean and var depend on x, so dx has three terms: the direct one, and the\n    ones through the mean and through the variance.  With x_hat the\n    normalized input and m the number of values per channel:":
        "mean a var závisejí na x, takže dx má tři členy: přímý a členy přes\n    střední hodnotu a přes rozptyl.  Kde x_hat je normalizovaný vstup\n    a m počet hodnot na kanál:",
}

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


# %% lang="cs"
{
    "# Visible tests: a finite-difference check of a small dense case, with your forward pass.":
        "# Viditelné testy: kontrola malého hustého případu konečnými diferencemi, s vaším dopředným průchodem.",
    'f"dx{index}: numeric {numeric:.6f}, yours {dx[index]:.6f}"': 'f"dx{index}: numericky {numeric:.6f}, váš {dx[index]:.6f}"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% kind="tests" check="batch_norm_backward" points=4

# %% [markdown]
# ## 3. Written answer (graded by hand)
#
# **Question 3 [10 points].** Describe batch normalization and write down an algorithm for how it is
# used during training and one for how it is used during inference. Say explicitly over what it
# normalizes in fully connected layers and in convolutional layers.


# %% [markdown] lang="cs"
# ## 3. Písemná odpověď (hodnotí se ručně)
#
# **Otázka 3 [10 bodů].** Popište dávkovou normalizaci a napište algoritmus, jak se používá během
# tréninku, a algoritmus, jak se používá během inference. Výslovně uveďte, přes co se normalizuje
# v případě plně propojených vrstev a v případě konvolučních vrstev.

# %% [markdown] kind="written" grade_id="q3_batchnorm" points=10
