# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 4, part 3: the architecture of VGG-19
#
# The last question of the lesson-4 exam (5 of its 25 points): describe the overall architecture of
# VGG-19. You will assemble it from `cnncore`'s layers, compute its output shapes and parameter
# counts stage by stage (autograded against `cnncore.vgg19`), measure why it uses only 3x3
# convolutions, see why it needs a fixed input size, and then write the answer (graded by hand).
#
# VGG-19 (Simonyan and Zisserman, 2014, configuration E), on a 224 x 224 x 3 image:
#
# | block | layers | output |
# |---|---|---|
# | 1 | 2 x conv3-64, maxpool | 112 x 112 x 64 |
# | 2 | 2 x conv3-128, maxpool | 56 x 56 x 128 |
# | 3 | 4 x conv3-256, maxpool | 28 x 28 x 256 |
# | 4 | 4 x conv3-512, maxpool | 14 x 14 x 512 |
# | 5 | 4 x conv3-512, maxpool | 7 x 7 x 512 |
# | | flatten, fc-4096, fc-4096, fc-1000, softmax | 1000 |
#
# "conv3-64" is a 3x3 convolution with 64 output channels, stride 1, SAME padding, followed by a
# ReLU; "maxpool" is a 2x2 max pooling with stride 2.


# %% [markdown] lang="cs"
# # Lekce 4, část 3: architektura VGG-19
#
# Poslední otázka zkoušky z lekce 4 (5 z jejích 25 bodů): popište celkovou architekturu VGG-19.
# Sestavíte ji z vrstev `cnncore`, spočítáte po jednotlivých stupních tvary výstupů a počty
# parametrů (hodnoceno automaticky proti `cnncore.vgg19`), změříte, proč používá jen konvoluce 3x3,
# uvidíte, proč potřebuje pevnou velikost vstupu, a pak napíšete odpověď (hodnotí se ručně).
#
# VGG-19 (Simonyan a Zisserman, 2014, konfigurace E) na obrázku 224 x 224 x 3:
#
# | blok | vrstvy | výstup |
# |---|---|---|
# | 1 | 2 x conv3-64, maxpool | 112 x 112 x 64 |
# | 2 | 2 x conv3-128, maxpool | 56 x 56 x 128 |
# | 3 | 4 x conv3-256, maxpool | 28 x 28 x 256 |
# | 4 | 4 x conv3-512, maxpool | 14 x 14 x 512 |
# | 5 | 4 x conv3-512, maxpool | 7 x 7 x 512 |
# | | zploštění, fc-4096, fc-4096, fc-1000, softmax | 1000 |
#
# „conv3-64“ je konvoluce 3x3 se 64 výstupními kanály, krokem 1 a doplněním SAME, následovaná
# ReLU; „maxpool“ je max pooling 2x2 s krokem 2.

# %% kind="setup"
import numpy as np
import matplotlib.pyplot as plt
from matplotlib import cbook

import cnncore
from cnncore.layers import BatchNorm, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
from cnncore.models import Sequential

vgg19 = getattr(cnncore, "vgg19", None) or __import__("cnncore.models", fromlist=["vgg19"]).vgg19

# %% [markdown]
# ## 1. Assemble it (not graded)
#
# Build VGG-19 from the layers `Conv2D(filters, kernel_size, strides, padding, use_bias=...)`,
# `BatchNorm()`, `ReLU()`, `MaxPool2D(pool_size, strides)`, `Flatten()`, `Dense(units)` and
# `Softmax()` of `cnncore.layers`, in a `Sequential(layers, input_shape=...)`. Name the layers as
# Keras does (`block1_conv1`, ..., `block1_pool`, `fc1`, `fc2`, `predictions`). With
# `batch_norm=True`, put a `BatchNorm` between each convolution and its ReLU, f(BN(Wx)), and drop
# the convolution's bias.


# %% [markdown] lang="cs"
# ## 1. Sestavte ji (nehodnotí se)
#
# Sestavte VGG-19 z vrstev `Conv2D(filters, kernel_size, strides, padding, use_bias=...)`,
# `BatchNorm()`, `ReLU()`, `MaxPool2D(pool_size, strides)`, `Flatten()`, `Dense(units)` a
# `Softmax()` z `cnncore.layers`, v `Sequential(layers, input_shape=...)`. Pojmenujte vrstvy jako
# Keras (`block1_conv1`, ..., `block1_pool`, `fc1`, `fc2`, `predictions`). S `batch_norm=True`
# vložte `BatchNorm` mezi každou konvoluci a její ReLU, f(BN(Wx)), a vynechte bias konvoluce.

# %% kind="solution" function="build_vgg19"


# %% lang="cs"
{"VGG-19 assembled from cnncore's layers (as torchvision's make_layers, with Keras' names).":
     "VGG-19 sestavená z vrstev cnncore (jako make_layers v torchvision, s názvy z Kerasu)."}

# %% kind="visible" grade_id="visible_build_vgg19"
# Compare with cnncore's own VGG-19 (small input and few classes, so that it builds quickly).
mine = build_vgg19(num_classes=10, input_shape=(64, 64, 3))
reference = vgg19(num_classes=10, input_shape=(64, 64, 3))
print(mine.summary())
assert mine.num_params == reference.num_params, (mine.num_params, reference.num_params)
assert mine.output_shape == (10,)
print("visible tests passed")


# %% lang="cs"
{
    "# Compare with cnncore's own VGG-19 (small input and few classes, so that it builds quickly).":
        "# Porovnání s VGG-19 z cnncore (malý vstup a málo tříd, aby se rychle sestavila).",
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% [markdown]
# ## 2. Shapes and parameters, stage by stage (autograded)
#
# Write `vgg19_stages(input_shape=(224, 224, 3), num_classes=1000, batch_norm=False)` that computes,
# **by hand** (arithmetic, no model), a list of 8 rows `(stage, output_shape, parameters)`: one per
# block, `"block1"` ... `"block5"` (the output after the block's pooling, the parameters of its
# convolutions), then `"fc1"`, `"fc2"`, `"predictions"` (output shape `(units,)`). Count the
# trainable parameters: a 3x3 convolution from $C_{in}$ to $C_{out}$ channels has
# $3 \cdot 3 \cdot C_{in} \cdot C_{out}$ weights plus $C_{out}$ biases (or, with batch norm, no bias but
# $2 C_{out}$ for $\gamma$ and $\beta$); a dense layer from $F_{in}$ to $F_{out}$ has
# $F_{in} F_{out} + F_{out}$.


# %% [markdown] lang="cs"
# ## 2. Tvary a parametry, stupeň po stupni (hodnoceno automaticky)
#
# Napište `vgg19_stages(input_shape=(224, 224, 3), num_classes=1000, batch_norm=False)`, která
# **ručně** (aritmetikou, bez modelu) spočítá seznam 8 řádků `(stage, output_shape, parameters)`:
# jeden na blok, `"block1"` ... `"block5"` (výstup po poolingu bloku, parametry jeho konvolucí),
# pak `"fc1"`, `"fc2"`, `"predictions"` (tvar výstupu `(units,)`). Počítejte trénovatelné parametry:
# konvoluce 3x3 z $C_{in}$ do $C_{out}$ kanálů má $3 \cdot 3 \cdot C_{in} \cdot C_{out}$ vah plus
# $C_{out}$ biasů (nebo, s dávkovou normalizací, žádný bias, ale $2 C_{out}$ za $\gamma$ a $\beta$);
# plně propojená vrstva z $F_{in}$ do $F_{out}$ má $F_{in} F_{out} + F_{out}$.

# %% kind="solution" function="vgg19_stages"


# %% lang="cs"
{
    "Output shape and trainable parameters of each stage of VGG-19, by hand.":
        "Tvar výstupu a trénovatelné parametry každého stupně VGG-19, ručně.",
    "Returns a list of 8 rows (stage, output shape, parameters):\n    block1 .. block5 (the convolutions and the pooling of each block), fc1, fc2, predictions.":
        "Vrací seznam 8 řádků (stupeň, tvar výstupu, parametry):\n    block1 .. block5 (konvoluce a pooling každého bloku), fc1, fc2, predictions.",
}

# %% kind="visible" grade_id="visible_vgg19_stages"
# Visible tests.
stages = vgg19_stages()
assert [s[0] for s in stages] == ["block1", "block2", "block3", "block4", "block5", "fc1", "fc2", "predictions"]
assert tuple(stages[0][1]) == (112, 112, 64)
assert stages[0][2] == (3 * 3 * 3 * 64 + 64) + (3 * 3 * 64 * 64 + 64)
assert tuple(stages[4][1]) == (7, 7, 512)
assert sum(s[2] for s in stages) == 143_667_240, "the published total for VGG-19"
print("visible tests passed")


# %% lang="cs"
{
    "# Visible tests.": "# Viditelné testy.",
    '"the published total for VGG-19"': '"publikovaný celkový počet pro VGG-19"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% [markdown]
# Where the parameters are, and how the feature maps shrink while the channels grow:


# %% [markdown] lang="cs"
# Kde jsou parametry a jak se mapy příznaků zmenšují, zatímco kanálů přibývá:

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4))
names = [s[0] for s in stages]
axes[0].bar(names, [s[2] / 1e6 for s in stages], color=["tab:blue"] * 5 + ["tab:orange"] * 3)
axes[0].set_ylabel("millions of parameters")
axes[0].set_title("VGG-19: parameters per stage (fc1 alone holds 72%)")
axes[0].tick_params(axis="x", rotation=45)
sides = [224] + [s[1][0] for s in stages[:5]]
chans = [3] + [s[1][2] for s in stages[:5]]
axes[1].plot(range(6), sides, "o-", label="height = width")
axes[1].plot(range(6), chans, "s-", label="channels")
axes[1].set_xticks(range(6), ["input"] + names[:5])
axes[1].set_yscale("log", base=2)
axes[1].legend()
axes[1].set_title("feature maps: smaller and deeper")
plt.show()


# %% lang="cs"
{
    '"millions of parameters"': '"miliony parametrů"',
    '"VGG-19: parameters per stage (fc1 alone holds 72%)"': '"VGG-19: parametry po stupních (jen fc1 má 72 %)"',
    'label="height = width"': 'label="výška = šířka"',
    'label="channels"': 'label="kanály"',
    '["input"]': '["vstup"]',
    '"feature maps: smaller and deeper"': '"mapy příznaků: menší a hlubší"',
}

# %% kind="tests" check="vgg19_stages" points=6

# %% [markdown]
# ## 3. Why only 3x3 convolutions? (autograded)
#
# The *receptive field* of an output pixel is the window of the input it depends on. Write
# `receptive_field(num_layers, kernel_size=3)`: its side for a stack of `num_layers` convolutions of
# stride 1 with `kernel_size` x `kernel_size` kernels. (The hidden tests measure it with cnncore, by
# backpropagating one output pixel through the stack.)


# %% [markdown] lang="cs"
# ## 3. Proč jen konvoluce 3x3? (hodnoceno automaticky)
#
# *Receptivní pole* výstupního pixelu je okno vstupu, na kterém závisí. Napište
# `receptive_field(num_layers, kernel_size=3)`: jeho stranu pro posloupnost `num_layers` konvolucí
# s krokem 1 a jádry `kernel_size` x `kernel_size`. (Skryté testy ho měří pomocí cnncore zpětným
# průchodem jednoho výstupního pixelu celou posloupností.)

# %% kind="solution" function="receptive_field"


# %% lang="cs"
{
    "Side of the input window that one output pixel of a stack of stride-1 convolutions sees.":
        "Strana okna vstupu, které vidí jeden výstupní pixel posloupnosti konvolucí s krokem 1.",
    "One k x k layer sees k pixels; each further layer widens the window by\n    k - 1 (its k taps reach k - 1 more pixels of the layer below).":
        "Jedna vrstva k x k vidí k pixelů, každá další vrstva okno rozšíří o\n    k - 1 (jejích k pozic jádra dosáhne na k - 1 dalších pixelů vrstvy pod ní).",
}

# %% kind="visible" grade_id="visible_receptive_field"
assert receptive_field(1) == 3
assert receptive_field(1, kernel_size=5) == 5
assert receptive_field(2) == 5, "two 3x3 layers see a 5x5 window"
print("visible tests passed")


# %% lang="cs"
{
    '"two 3x3 layers see a 5x5 window"': '"dvě vrstvy 3x3 vidí okno 5x5"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% [markdown]
# Two 3x3 layers see what one 5x5 layer sees, three see 7x7; count the weights for $C$ channels in
# and out, and see the receptive field grow on a real picture: the gradient of one output pixel of
# a stack of 3x3 convolutions, traced back to the input.


# %% [markdown] lang="cs"
# Dvě vrstvy 3x3 vidí totéž co jedna vrstva 5x5, tři vidí 7x7; spočítejte váhy pro $C$ vstupních
# i výstupních kanálů a podívejte se, jak receptivní pole roste na skutečném obrázku: gradient
# jednoho výstupního pixelu posloupnosti konvolucí 3x3, vystopovaný zpět ke vstupu.

# %%
C = 256
for layers, k in [(2, 3), (1, 5), (3, 3), (1, 7)]:
    print(f"{layers} x {k}x{k}: receptive field {receptive_field(layers, k)}, "
          f"weights {layers * k * k * C * C:,} for C = {C}")

with cbook.get_sample_data("grace_hopper.jpg") as f:
    gray = plt.imread(f).astype(np.float64).mean(axis=2)[::8, ::8] / 255.0      # (75, 64)
fig, axes = plt.subplots(1, 4, figsize=(14, 4))
ones = np.ones((3, 3, 1, 1)) / 9
for ax, depth in zip(axes, [1, 2, 4, 8]):
    shapes, x = [], gray[None, :, :, None]
    for _ in range(depth):
        shapes.append(x.shape)
        x = cnncore.conv2d(x, ones, padding="same")
    dy = np.zeros(x.shape); dy[0, 30, 32, 0] = 1
    for shape in reversed(shapes):
        dy, _, _ = cnncore.conv2d_backward(dy, np.zeros(shape), ones, padding="same")
    ax.imshow(gray, cmap="gray")
    ax.imshow(np.ma.masked_equal(dy[0, :, :, 0], 0), cmap="autumn", alpha=0.6)
    ax.set_title(f"{depth} layers of 3x3: {receptive_field(depth)}x{receptive_field(depth)}")
    ax.axis("off")
plt.show()


# %% lang="cs"
{
    'f"{layers} x {k}x{k}: receptive field {receptive_field(layers, k)}, "':
        'f"{layers} x {k}x{k}: receptivní pole {receptive_field(layers, k)}, "',
    'f"weights {layers * k * k * C * C:,} for C = {C}"': 'f"váhy {layers * k * k * C * C:,} pro C = {C}"',
    'f"{depth} layers of 3x3: {receptive_field(depth)}x{receptive_field(depth)}"':
        'f"{depth} vrstev 3x3: {receptive_field(depth)}x{receptive_field(depth)}"',
}

# %% kind="tests" check="receptive_field" points=2

# %% [markdown]
# ## 4. Why a fixed input size?
#
# The convolutions and poolings accept any height and width (multiples of 32, for the five
# poolings). The first dense layer does not: it was built for a fixed number of inputs.


# %% [markdown] lang="cs"
# ## 4. Proč pevná velikost vstupu?
#
# Konvoluce a poolingy přijmou jakoukoli výšku a šířku (násobky 32, kvůli pěti poolingům). První
# plně propojená vrstva ne: byla sestavena pro pevný počet vstupů.

# %%
model = vgg19(num_classes=10, input_shape=(64, 64, 3))
x = np.random.default_rng(0).random((1, 64, 64, 3)).astype(np.float32)
print("64 x 64:", model(x).shape)
try:
    model(np.random.default_rng(0).random((1, 96, 96, 3)).astype(np.float32))
except ValueError as error:
    print("96 x 96:", error)

# %% [markdown]
# ## 5. Written answer (graded by hand)
#
# **Question 4 [5 points].** Describe the overall architecture of VGG-19 (you do not need the exact
# number of layers and filters, but say which layers are used). Explain why it uses only 3x3
# convolutions (receptive field and parameters of two 3x3 against one 5x5) and why it needs input
# images of a fixed size.


# %% [markdown] lang="cs"
# ## 5. Písemná odpověď (hodnotí se ručně)
#
# **Otázka 4 [5 bodů].** Popište celkovou architekturu VGG-19 (nemusíte si pamatovat přesný počet
# vrstev a filtrů, ale popište, jaké vrstvy se používají). Vysvětlete, proč používá jen konvoluce
# 3x3 (receptivní pole a parametry dvou 3x3 oproti jedné 5x5) a proč potřebuje vstupní obrázky
# pevné velikosti.

# %% [markdown] kind="written" grade_id="q4_vgg19" points=5
