# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lesson 4, part 1: convolution and padding
#
# This assignment covers the first two questions of the lesson-4 exam (10 of its 25 points):
#
# 1. **[5]** the equation of a convolution (a cross-correlation, as in CNNs) of an $H \times W$ image
#    with $C$ channels, an $N \times M$ kernel, a stride and $O$ output channels;
# 2. **[5]** SAME and VALID padding and the output size of each.
#
# You will implement, in plain NumPy, `conv_output_size`, `conv2d_forward` and `conv2d_backward`.
# Those are graded automatically: small **visible tests** below each exercise help you, and
# **hidden tests** then compare your function with the compiled reference implementation
# (`cnncore`) on many generated cases. The two written answers at the end are graded by hand.
#
# **Conventions** (the same as Keras and `cnncore`):
#
# * images are *channels-last*: a batch `x` has shape `(N, H, W, C)`;
# * a kernel bank has shape `(KH, KW, C_in, C_out)`, the exam's $K_{m,n,c,o}$;
# * `stride` is an int or a pair `(rows, cols)`. (The exam sheet names the stride $T \times S$ but
#   indexes rows with $S$; here the first number is always the row stride.)
#
# Rules: use NumPy only. Your notebook is graded in a sandbox where `cnncore`, `torch` and SciPy
# cannot be imported, so a function that hands the work to them gets no credit. The pictures that
# use `cnncore` are left out there. Do not modify your inputs; return new arrays. Keep the
# dtype of the input (`float32` in, `float32` out). Do not rename the functions.


# %% [markdown] lang="cs"
# # Lekce 4, část 1: konvoluce a doplnění (padding)
#
# Tento úkol pokrývá první dvě otázky zkoušky z lekce 4 (10 z jejích 25 bodů):
#
# 1. **[5]** rovnice konvoluce (ve skutečnosti vzájemné korelace, jak je v CNN zvykem) obrázku
#    $H \times W$ s $C$ kanály, jádrem $N \times M$, daným krokem (stride) a $O$ výstupními kanály;
# 2. **[5]** doplnění (padding) SAME a VALID a velikost výstupu u každého z nich.
#
# V čistém NumPy naprogramujete `conv_output_size`, `conv2d_forward` a `conv2d_backward`.
# Ty se hodnotí automaticky: pod každým cvičením vám pomohou malé **viditelné testy** a
# **skryté testy** pak porovnají vaši funkci s kompilovanou referenční implementací
# (`cnncore`) na mnoha vygenerovaných případech. Dvě písemné odpovědi na konci se hodnotí ručně.
#
# **Konvence** (stejné jako v Kerasu a `cnncore`):
#
# * obrázky mají kanály na konci (*channels-last*): dávka `x` má tvar `(N, H, W, C)`;
# * sada jader má tvar `(KH, KW, C_in, C_out)`, zkouškové $K_{m,n,c,o}$;
# * `stride` (krok) je celé číslo nebo dvojice `(řádky, sloupce)`. (Zadání zkoušky krok značí
#   $T \times S$, ale řádky indexuje pomocí $S$; zde je první číslo vždy krok po řádcích.)
#
# Pravidla: používejte jen NumPy. Váš notebook se hodnotí v izolovaném prostředí (sandboxu), kde
# `cnncore`, `torch` ani SciPy nelze importovat, takže funkce, která práci přenechá jim, nedostane
# žádné body. Obrázky, které používají `cnncore`, se tam vynechají. Neměňte své vstupy, vracejte
# nová pole. Zachovejte datový typ vstupu (`float32` na vstupu, `float32` na výstupu). Funkce
# nepřejmenovávejte.

# %% kind="setup"
import numpy as np
import matplotlib.pyplot as plt
from matplotlib import cbook

import cnncore            # the reference library, used here only to draw the pictures


# %% lang="cs"
{"# the reference library, used here only to draw the pictures": "# referenční knihovna, zde jen pro kreslení obrázků"}

# %% [markdown]
# ## 1. What a convolutional layer computes
#
# A convolutional layer slides each of its $O$ kernels over the image. Output pixel $(i, j)$ of
# output channel $o$ is the dot product of kernel $o$ with the window of the image whose top-left
# corner is at row $i \cdot s_r$, column $j \cdot s_c$, summed over all $C$ input channels:
#
# $$ y_{i,j,o} = \sum_{m=0}^{KH-1} \sum_{n=0}^{KW-1} \sum_{c=0}^{C-1} x_{i s_r + m,\; j s_c + n,\; c}\; K_{m,n,c,o} $$
#
# Note that the kernel is **not flipped**: mathematicians would call this a cross-correlation.
# A learned kernel does not care, but your implementation must match the definition.
#
# Here is a real photograph (it ships with matplotlib) and what three hand-made kernels see in it:
# two Sobel edge detectors and a blur. The picture is computed with `cnncore.conv2d`; you will
# soon compute it with your own function.


# %% [markdown] lang="cs"
# ## 1. Co počítá konvoluční vrstva
#
# Konvoluční vrstva posouvá každé ze svých $O$ jader po obrázku. Výstupní pixel $(i, j)$
# výstupního kanálu $o$ je skalární součin jádra $o$ s oknem obrázku, jehož levý horní roh leží
# na řádku $i \cdot s_r$ a ve sloupci $j \cdot s_c$, sečtený přes všech $C$ vstupních kanálů:
#
# $$ y_{i,j,o} = \sum_{m=0}^{KH-1} \sum_{n=0}^{KW-1} \sum_{c=0}^{C-1} x_{i s_r + m,\; j s_c + n,\; c}\; K_{m,n,c,o} $$
#
# Jádro se **nepřevrací**: matematik by tomu říkal vzájemná korelace (cross-correlation).
# Naučenému jádru je to jedno, ale vaše implementace musí odpovídat definici.
#
# Tady je skutečná fotografie (je součástí matplotlibu) a to, co v ní vidí tři ručně zvolená
# jádra: dva Sobelovy detektory hran a rozmazání. Obrázek je spočítaný pomocí `cnncore.conv2d`;
# brzy ho spočítáte vlastní funkcí.

# %%
with cbook.get_sample_data("grace_hopper.jpg") as f:
    photo = plt.imread(f)
gray = photo.astype(np.float64).mean(axis=2)[::4, ::4] / 255.0      # (150, 128), grayscale, smaller
image = gray[None, :, :, None]                                     # a batch of one (N, H, W, C=1)

sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)   # vertical edges
sobel_y = sobel_x.T                                                            # horizontal edges
blur = np.ones((3, 3)) / 9
kernels = np.stack([sobel_x, sobel_y, blur], axis=-1)[:, :, None, :]           # (3, 3, 1, 3)

feature_maps = cnncore.conv2d(image, kernels, padding="same")                 # (1, 150, 128, 3)

fig, axes = plt.subplots(1, 4, figsize=(14, 4))
axes[0].imshow(gray, cmap="gray")
axes[0].set_title(f"input {gray.shape}")
for ax, o, title in zip(axes[1:], range(3), ["Sobel x: vertical edges", "Sobel y: horizontal edges", "3x3 blur"]):
    ax.imshow(feature_maps[0, :, :, o], cmap="gray")
    ax.set_title(title)
for ax in axes:
    ax.axis("off")
plt.show()


# %% lang="cs"
{
    "# (150, 128), grayscale, smaller": "# (150, 128), ve stupních šedi, zmenšený",
    "# a batch of one (N, H, W, C=1)": "# dávka o jednom obrázku (N, H, W, C=1)",
    "# vertical edges": "# svislé hrany",
    "# horizontal edges": "# vodorovné hrany",
    'f"input {gray.shape}"': 'f"vstup {gray.shape}"',
    '"Sobel x: vertical edges"': '"Sobel x: svislé hrany"',
    '"Sobel y: horizontal edges"': '"Sobel y: vodorovné hrany"',
    '"3x3 blur"': '"rozmazání 3x3"',
}

# %% [markdown]
# ## 2. Padding and the size of the output
#
# * **VALID** padding uses only the positions where the whole kernel lies inside the image. Along
#   an axis of size $H$ with a kernel of size $K$ and stride $s$ there are
#   $\lfloor (H - K) / s \rfloor + 1$ such positions. (At stride 1 that is $H - K + 1$, *not* $H - K$.)
# * **SAME** padding first adds zeros around the image so that the output has
#   $\lceil H / s \rceil$ positions, the input size at stride 1. The total padding along an axis is
#   $\max((\text{out} - 1) s + K - H, 0)$; half of it goes before, and when it is odd the extra row
#   or column goes **after** (at the bottom / on the right), as in TensorFlow.
#
# The picture shows a $6 \times 6$ input (blue) and the zeros SAME adds for a $3 \times 3$ kernel at
# stride 1, and for a $2 \times 2$ kernel at stride 1, where the padding is odd.


# %% [markdown] lang="cs"
# ## 2. Doplnění (padding) a velikost výstupu
#
# * Doplnění **VALID** používá jen ty pozice, kde celé jádro leží uvnitř obrázku. Podél osy
#   velikosti $H$ s jádrem velikosti $K$ a krokem $s$ je takových pozic
#   $\lfloor (H - K) / s \rfloor + 1$. (Při kroku 1 je to $H - K + 1$, *ne* $H - K$.)
# * Doplnění **SAME** nejdřív obrázek obloží nulami tak, aby měl výstup
#   $\lceil H / s \rceil$ pozic, při kroku 1 tedy velikost vstupu. Celkové doplnění podél osy je
#   $\max((\text{out} - 1) s + K - H, 0)$; polovina jde před obrázek, a když je liché, přebývající
#   řádek či sloupec jde **za** něj (dolů / doprava), stejně jako v TensorFlow.
#
# Obrázek ukazuje vstup $6 \times 6$ (modře) a nuly, které SAME přidá pro jádro $3 \times 3$ při
# kroku 1, pro jádro $2 \times 2$ při kroku 1, kde je doplnění liché, a pro jádro $3 \times 3$
# při kroku 2.

# %%
def draw_same_padding(ax, size, k, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    before, after = total // 2, total - total // 2
    full = size + total
    for r in range(full):
        for c in range(full):
            inside = before <= r < before + size and before <= c < before + size
            ax.add_patch(plt.Rectangle((c, full - 1 - r), 0.95, 0.95,
                                       color="tab:blue" if inside else "lightgray"))
    # the first window
    ax.add_patch(plt.Rectangle((0, full - k), k - 0.05, k - 0.05, fill=False, lw=3, color="tab:red"))
    ax.set_xlim(-0.2, full + 0.2)
    ax.set_ylim(-0.2, full + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{size}x{size}, kernel {k}x{k}, stride {stride}\npad before {before}, after {after}, out {out}x{out}")

fig, axes = plt.subplots(1, 3, figsize=(13, 4.5))
draw_same_padding(axes[0], 6, 3, 1)
draw_same_padding(axes[1], 6, 2, 1)
draw_same_padding(axes[2], 6, 3, 2)
plt.show()


# %% lang="cs"
{
    "# the first window": "# první okno",
    'f"{size}x{size}, kernel {k}x{k}, stride {stride}\\npad before {before}, after {after}, out {out}x{out}"':
        'f"{size}x{size}, jádro {k}x{k}, krok {stride}\\ndoplnění před {before}, za {after}, výstup {out}x{out}"',
}

# %% [markdown]
# ### Exercise 1 (autograded): `conv_output_size`
#
# Write `conv_output_size(size, kernel_size, stride=1, padding="valid")`: the number of output
# positions along one axis, for `padding` `"valid"` or `"same"` and an int `stride`. Return an `int`.


# %% [markdown] lang="cs"
# ### Cvičení 1 (hodnoceno automaticky): `conv_output_size`
#
# Napište `conv_output_size(size, kernel_size, stride=1, padding="valid")`: počet výstupních
# pozic podél jedné osy, pro `padding` `"valid"` nebo `"same"` a celočíselný krok `stride`.
# Vraťte `int`.

# %% kind="solution" function="conv_output_size"


# %% lang="cs"
{
    "Number of output positions along one axis.": "Počet výstupních pozic podél jedné osy.",
    "VALID: the kernel must lie inside the input, so it starts at 0, stride,":
        "VALID: jádro musí ležet uvnitř vstupu, takže začíná na 0, stride,",
    "2*stride, ... up to size - kernel_size:": "2*stride, ... až po size - kernel_size:",
    "SAME: the input is padded so that every stride-th position gives an\n    output: ceil(size / stride).":
        "SAME: vstup se doplní tak, aby každá stride-tá pozice dala výstup:\n    ceil(size / stride).",
}

# %% kind="visible" grade_id="visible_conv_output_size"
# Visible tests: small cases you can check by hand.
assert conv_output_size(5, 3) == 3, "a 3-wide kernel fits at positions 0, 1, 2 of a 5-wide input"
assert conv_output_size(5, 3, padding="same") == 5
assert conv_output_size(7, 3, stride=2) == 3, "positions 0, 2, 4"
assert conv_output_size(7, 3, stride=2, padding="same") == 4, "ceil(7 / 2)"
assert conv_output_size(4, 4) == 1
assert isinstance(conv_output_size(6, 2, stride=2), (int, np.integer)), "return an int"
print("visible tests passed")


# %% lang="cs"
{
    "# Visible tests: small cases you can check by hand.": "# Viditelné testy: malé případy, které si ověříte ručně.",
    '"a 3-wide kernel fits at positions 0, 1, 2 of a 5-wide input"':
        '"jádro šířky 3 se do vstupu šířky 5 vejde na pozice 0, 1, 2"',
    '"positions 0, 2, 4"': '"pozice 0, 2, 4"',
    '"return an int"': '"vraťte int"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% kind="tests" check="conv_output_size" points=3

# %% [markdown]
# ### Exercise 2 (autograded): `conv2d_forward`
#
# Write `conv2d_forward(x, kernel, stride=1, padding="valid")` for a batch `x` of shape
# `(N, H, W, C)` and kernels of shape `(KH, KW, C, O)`, returning `y` of shape `(N, OH, OW, O)`.
# Without bias. Stride is an int or a `(rows, cols)` pair; padding is `"valid"` or `"same"`.
#
# Hints: `np.pad` adds the zeros. Seven nested loops work (slowly); a faster way loops only over
# the kernel taps `(m, n)`: for each tap, the input pixels it meets form a strided slice of `x`,
# and `slice @ kernel[m, n]` mixes their channels.


# %% [markdown] lang="cs"
# ### Cvičení 2 (hodnoceno automaticky): `conv2d_forward`
#
# Napište `conv2d_forward(x, kernel, stride=1, padding="valid")` pro dávku `x` tvaru
# `(N, H, W, C)` a jádra tvaru `(KH, KW, C, O)`; vrací `y` tvaru `(N, OH, OW, O)`.
# Bez biasu. Krok je celé číslo nebo dvojice `(řádky, sloupce)`; doplnění je `"valid"` nebo `"same"`.
#
# Nápověda: nuly přidá `np.pad`. Sedm vnořených cyklů funguje (pomalu); rychlejší cesta prochází
# cyklem jen pozice v jádře `(m, n)`: vstupní pixely, na které daná pozice jádra narazí, tvoří
# řez `x` s krokem, a `řez @ kernel[m, n]` smíchá jejich kanály.

# %% kind="solution" function="conv2d_forward"


# %% lang="cs"
{
    "Cross-correlation of a batch of images with a bank of kernels.": "Vzájemná korelace dávky obrázků se sadou jader.",
    "= sum over m, n, c of xpad": "= součet přes m, n, c členů xpad",
}

# %% kind="visible" grade_id="visible_conv2d_forward"
# Visible tests.
x = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
# [[ 0  1  2  3]
#  [ 4  5  6  7]
#  [ 8  9 10 11]
#  [12 13 14 15]]
ones = np.ones((2, 2, 1, 1))
y = conv2d_forward(x, ones)
assert y.shape == (1, 3, 3, 1), f"VALID 2x2 on 4x4 gives 3x3, got {y.shape}"
assert y[0, 0, 0, 0] == 0 + 1 + 4 + 5

top_left = np.zeros((2, 2, 1, 1))
top_left[0, 0] = 1            # K[0, 0] = 1: cross-correlation picks x[i, j], a flipped kernel x[i + 1, j + 1]
np.testing.assert_array_equal(conv2d_forward(x, top_left)[0, :, :, 0], x[0, :3, :3, 0],
                              err_msg="is the kernel flipped? y[i, j] = sum x[i + m, j + n] K[m, n]")

assert conv2d_forward(x, ones, stride=(1, 2)).shape == (1, 3, 2, 1), "stride is (rows, cols)"
assert conv2d_forward(x, ones, padding="same").shape == (1, 4, 4, 1)
# SAME with a 2x2 kernel pads one row at the bottom and one column at the right:
assert conv2d_forward(x, ones, padding="same")[0, 3, 3, 0] == 15
assert conv2d_forward(x.astype(np.float32), ones.astype(np.float32)).dtype == np.float32, "keep the dtype"
two_channels = np.concatenate([x, 10 * x], axis=-1)                 # (1, 4, 4, 2)
k2 = np.zeros((1, 1, 2, 3)); k2[0, 0, 0, 0] = 1; k2[0, 0, 1, 1] = 1; k2[0, 0, :, 2] = 1
np.testing.assert_array_equal(conv2d_forward(two_channels, k2)[0, 1, 2], [6, 60, 66])
print("visible tests passed")


# %% lang="cs"
{
    "# Visible tests.": "# Viditelné testy.",
    'f"VALID 2x2 on 4x4 gives 3x3, got {y.shape}"': 'f"VALID 2x2 na 4x4 dává 3x3, vyšlo {y.shape}"',
    "# K[0, 0] = 1: cross-correlation picks x[i, j], a flipped kernel x[i + 1, j + 1]":
        "# K[0, 0] = 1: vzájemná korelace vybere x[i, j], převrácené jádro x[i + 1, j + 1]",
    'err_msg="is the kernel flipped? y[i, j] = sum x[i + m, j + n] K[m, n]"':
        'err_msg="není jádro převrácené? y[i, j] = sum x[i + m, j + n] K[m, n]"',
    '"stride is (rows, cols)"': '"krok je (řádky, sloupce)"',
    "# SAME with a 2x2 kernel pads one row at the bottom and one column at the right:":
        "# SAME s jádrem 2x2 doplní jeden řádek dole a jeden sloupec vpravo:",
    '"keep the dtype"': '"zachovejte dtype"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% [markdown]
# Your function on the photograph: the three feature maps should look exactly like the ones above.


# %% [markdown] lang="cs"
# Vaše funkce na fotografii: tři mapy příznaků by měly vypadat přesně jako ty nahoře.

# %%
mine = conv2d_forward(image, kernels, padding="same")
fig, axes = plt.subplots(1, 3, figsize=(11, 4))
for ax, o in zip(axes, range(3)):
    ax.imshow(mine[0, :, :, o], cmap="gray")
    ax.axis("off")
plt.show()
print("largest difference from the reference:", np.abs(mine - feature_maps).max())


# %% lang="cs"
{'"largest difference from the reference:"': '"největší rozdíl od reference:"'}

# %% kind="tests" check="conv2d_forward" points=6

# %% [markdown]
# ### Exercise 3 (autograded): `conv2d_backward`
#
# Training needs the gradients. Given `dy` $= \partial L / \partial y$ (the shape of `y`), write
# `conv2d_backward(dy, x, kernel, stride=1, padding="valid")` returning `(dx, dkernel)` with the
# shapes of `x` and `kernel`.
#
# Each kernel weight $K_{m,n,c,o}$ is used at every output position of every image in the batch,
# so its gradient is a **sum** over the batch and all positions. Each input pixel receives
# gradient from every output whose window covered it. With SAME padding, compute the gradient of
# the padded input and cut the padding off.


# %% [markdown] lang="cs"
# ### Cvičení 3 (hodnoceno automaticky): `conv2d_backward`
#
# Trénování potřebuje gradienty. Pro dané `dy` $= \partial L / \partial y$ (tvar `y`) napište
# `conv2d_backward(dy, x, kernel, stride=1, padding="valid")`, která vrací `(dx, dkernel)`
# s tvary `x` a `kernel`.
#
# Každá váha jádra $K_{m,n,c,o}$ se použije na každé výstupní pozici každého obrázku v dávce,
# takže její gradient je **součet** přes dávku a všechny pozice. Každý vstupní pixel dostane
# gradient od každého výstupu, jehož okno ho pokrývalo. Při doplnění SAME spočítejte gradient
# doplněného vstupu a doplnění pak odřízněte.

# %% kind="solution" function="conv2d_backward"


# %% lang="cs"
{
    "Gradients of a loss with respect to x and kernel, given dy = dL/dy.":
        "Gradienty ztráty podle x a kernel, je-li dáno dy = dL/dy.",
    "Every tap (m, n) of the forward pass did y += patch @ kernel[m, n], so\n":
        "Každá pozice jádra (m, n) v dopředném průchodu přičetla y += patch @ kernel[m, n],\n",
    "dkernel[m, n] = patch^T dy, summed over the batch and all positions, and\n":
        "takže dkernel[m, n] = patch^T dy, sečtené přes dávku a všechny pozice, a\n",
    "dpatch = dy @ kernel[m, n]^T flows back to the input pixels the tap met.":
        "dpatch = dy @ kernel[m, n]^T teče zpět do vstupních pixelů, na které narazila.",
}

# %% kind="visible" grade_id="visible_conv2d_backward"
# Visible tests: shapes, and a finite-difference check of a tiny case with your forward pass.
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 5, 4, 2))
k = rng.standard_normal((3, 2, 2, 3))
dy = rng.standard_normal(conv2d_forward(x, k, stride=(2, 1), padding="same").shape)
dx, dk = conv2d_backward(dy, x, k, stride=(2, 1), padding="same")
assert dx.shape == x.shape and dk.shape == k.shape


def loss(x, k):
    return np.sum(conv2d_forward(x, k, stride=(2, 1), padding="same") * dy)


h = 1e-6
for index in [(0, 0, 0, 0), (1, 4, 3, 1), (0, 2, 1, 1)]:
    e = np.zeros_like(x); e[index] = h
    numeric = (loss(x + e, k) - loss(x - e, k)) / (2 * h)
    assert abs(numeric - dx[index]) < 1e-5, f"dx{index}: numeric {numeric:.6f}, yours {dx[index]:.6f}"
for index in [(0, 0, 0, 0), (2, 1, 1, 2)]:
    e = np.zeros_like(k); e[index] = h
    numeric = (loss(x, k + e) - loss(x, k - e)) / (2 * h)
    assert abs(numeric - dk[index]) < 1e-5, f"dkernel{index}: numeric {numeric:.6f}, yours {dk[index]:.6f}"
print("visible tests passed")


# %% lang="cs"
{
    "# Visible tests: shapes, and a finite-difference check of a tiny case with your forward pass.":
        "# Viditelné testy: tvary a kontrola malého případu konečnými diferencemi s vaším dopředným průchodem.",
    'f"dx{index}: numeric {numeric:.6f}, yours {dx[index]:.6f}"': 'f"dx{index}: numericky {numeric:.6f}, váš {dx[index]:.6f}"',
    'f"dkernel{index}: numeric {numeric:.6f}, yours {dk[index]:.6f}"':
        'f"dkernel{index}: numericky {numeric:.6f}, váš {dk[index]:.6f}"',
    '"visible tests passed"': '"viditelné testy prošly"',
}

# %% kind="tests" check="conv2d_backward" points=6

# %% [markdown]
# ## 3. Written answers (graded by hand)
#
# **Question 1 [5 points].** Write down the equation of how the convolution of an image is computed.
# The input is an image $I$ of size $H \times W$ with $C$ channels, the kernel $K$ has size
# $N \times M$, the stride is $S_r \times S_c$ (rows, columns), the operation is a cross-correlation
# (as usual in CNNs) and $O$ output channels are computed. Say in a sentence what the equation means.


# %% [markdown] lang="cs"
# ## 3. Písemné odpovědi (hodnotí se ručně)
#
# **Otázka 1 [5 bodů].** Napište rovnici, podle které se počítá konvoluce daného obrázku.
# Vstupem je obrázek $I$ velikosti $H \times W$ s $C$ kanály, jádro $K$ má velikost
# $N \times M$, krok je $S_r \times S_c$ (řádky, sloupce), prováděná operace je ve skutečnosti
# vzájemná korelace (jak je v konvolučních sítích zvykem) a počítá se $O$ výstupních kanálů.
# Jednou větou řekněte, co rovnice znamená.

# %% [markdown] kind="written" grade_id="q1_equation" points=5

# %% [markdown]
# **Question 2 [5 points].** Explain the SAME and VALID padding schemes and write down the output
# size of a convolution with an $N \times M$ kernel on an $H \times W$ image for both (stride 1).


# %% [markdown] lang="cs"
# **Otázka 2 [5 bodů].** Vysvětlete schémata doplnění (padding) SAME a VALID a pro obě napište
# velikost výstupu konvoluce s jádrem $N \times M$ na obrázku velikosti $H \times W$ (krok 1).

# %% [markdown] kind="written" grade_id="q2_padding" points=5
