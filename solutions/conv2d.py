"""Worked solutions of the `conv2d` assignment (the seed's questions 1 and 2).

This module is the single source of the solution code: the course builder
(`cnncourse build`) copies each function into its solution cell
of `assignments/source/conv2d/conv2d.ipynb`, between ``### BEGIN SOLUTION``
and ``### END SOLUTION``, together with the private helpers it uses.  Every
function stands on its own (it calls no other student function), so a
mistake in one exercise costs points only in that exercise's test.

Conventions (as in cnncore and Keras): images are channels-last
``(N, H, W, C)``, kernels ``(KH, KW, C_in, C_out)``, stride is an int or a
``(rows, cols)`` pair, padding is ``"valid"`` or ``"same"``.
"""
import numpy as np


def _pair(value):
    """An int or a (rows, cols) pair -> (rows, cols)."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _same_padding(size, kernel_size, stride):
    """(before, after) zero padding of SAME along one axis, as TensorFlow does it."""
    out = -(-size // stride)                                  # ceil(size / stride)
    total = max((out - 1) * stride + kernel_size - size, 0)
    before = total // 2
    return before, total - before                             # the odd one goes after


def conv_output_size(size, kernel_size, stride=1, padding="valid"):
    """Number of output positions along one axis.

    VALID: the kernel must lie inside the input, so it starts at 0, stride,
    2*stride, ... up to size - kernel_size: floor((size - kernel_size) / stride) + 1.
    SAME: the input is padded so that every stride-th position gives an
    output: ceil(size / stride).
    """
    if padding == "same":
        return -(-size // stride)
    return (size - kernel_size) // stride + 1


def conv2d_forward(x, kernel, stride=1, padding="valid"):
    """Cross-correlation of a batch of images with a bank of kernels.

    y[b, i, j, o] = sum over m, n, c of xpad[b, i*sh + m, j*sw + n, c] * kernel[m, n, c, o]

    x: (N, H, W, C); kernel: (KH, KW, C, O) -> y: (N, OH, OW, O).
    """
    sh, sw = _pair(stride)
    KH, KW, C, O = kernel.shape
    N, H, W, _ = x.shape
    if padding == "same":
        top, bottom = _same_padding(H, KH, sh)
        left, right = _same_padding(W, KW, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    OH = (x.shape[1] - KH) // sh + 1
    OW = (x.shape[2] - KW) // sw + 1
    y = np.zeros((N, OH, OW, O), dtype=np.result_type(x.dtype, kernel.dtype))
    # One kernel tap (m, n) at a time: the input pixels it meets are a strided
    # slice of x, and the tap mixes their C channels into O outputs.
    for m in range(KH):
        for n in range(KW):
            patch = x[:, m:m + sh * (OH - 1) + 1:sh, n:n + sw * (OW - 1) + 1:sw, :]  # (N, OH, OW, C)
            y += patch @ kernel[m, n]                                                # (C, O)
    return y


def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
    """Gradients of a loss with respect to x and kernel, given dy = dL/dy.

    Every tap (m, n) of the forward pass did y += patch @ kernel[m, n], so
    dkernel[m, n] = patch^T dy, summed over the batch and all positions, and
    dpatch = dy @ kernel[m, n]^T flows back to the input pixels the tap met.
    """
    sh, sw = _pair(stride)
    KH, KW, C, O = kernel.shape
    N, H, W, _ = x.shape
    top = bottom = left = right = 0
    if padding == "same":
        top, bottom = _same_padding(H, KH, sh)
        left, right = _same_padding(W, KW, sw)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    OH, OW = dy.shape[1], dy.shape[2]
    dxp = np.zeros(xp.shape, dtype=np.result_type(dy.dtype, kernel.dtype))
    dkernel = np.zeros(kernel.shape, dtype=np.result_type(dy.dtype, x.dtype))
    for m in range(KH):
        for n in range(KW):
            rows = slice(m, m + sh * (OH - 1) + 1, sh)
            cols = slice(n, n + sw * (OW - 1) + 1, sw)
            patch = xp[:, rows, cols, :]                                  # (N, OH, OW, C)
            dkernel[m, n] = np.einsum("bijc,bijo->co", patch, dy)         # summed over the batch
            dxp[:, rows, cols, :] += dy @ kernel[m, n].T
    dx = dxp[:, top:top + H, left:left + W, :]                            # drop the padding
    return dx, dkernel


WRITTEN_ANSWERS = {
    "q1_equation": r"""
**Model answer (5 points).** With the image $I$ of shape $H \times W \times C$, the kernel
$K$ of shape $N \times M \times C \times O$ and the stride $S_r \times S_c$ (rows, columns),

$$ (K \star I)_{i,j,o} = \sum_{m=0}^{N-1} \sum_{n=0}^{M-1} \sum_{c=0}^{C-1} I_{i \cdot S_r + m,\; j \cdot S_c + n,\; c}\; K_{m,n,c,o} \;(+\, b_o) $$

Output pixel $(i, j, o)$ is the dot product of the $o$-th kernel with the window of $I$
whose top-left corner is at $(i S_r, j S_c)$, summed over all input channels. It is a
cross-correlation: the kernel is not flipped.

Rubric: sum over $m, n$ and the channels $c$ (2); the stride multiplies the output index (1);
a separate kernel per output channel $o$ (1); no flip / cross-correlation named (1).
""",
    "q2_padding": r"""
**Model answer (5 points).** VALID uses only positions where the whole kernel lies inside the
image: output $(H - N + 1) \times (W - M + 1)$ at stride 1 (in general
$\lfloor (H - N) / s \rfloor + 1$). SAME pads the image with zeros so that the output keeps
the input size, $H \times W$ at stride 1 (in general $\lceil H / s \rceil$); the border outputs
then see part of the kernel over zeros. The total padding is $N - 1$ rows and $M - 1$ columns,
split evenly, the odd one at the bottom/right.

Rubric: VALID definition (1) and size (1.5, *not* $H - N$); SAME definition (1) and size (1);
where the padding goes (0.5).
""",
}

# The Czech edition's model answers (assignments/source/conv2d_cs), in the words of the exam's own answers.
WRITTEN_ANSWERS_CS = {
    "q1_equation": r"""
**Vzorová odpověď (5 bodů).** Pro obrázek $I$ tvaru $H \times W \times C$, jádro $K$ tvaru
$N \times M \times C \times O$ a krok $S_r \times S_c$ (řádky, sloupce) je

$$ (K \star I)_{i,j,o} = \sum_{m=0}^{N-1} \sum_{n=0}^{M-1} \sum_{c=0}^{C-1} I_{i \cdot S_r + m,\; j \cdot S_c + n,\; c}\; K_{m,n,c,o} \;(+\, b_o) $$

V zásadě je pixel na pozici $(i, j, o)$ vytvořen posouváním $o$-tého jádra kolem pozice
$(i S_r, j S_c)$ v $I$: je to skalární součin $o$-tého jádra s oknem $I$, jehož levý horní roh
leží na $(i S_r, j S_c)$, sečtený přes všechny vstupní kanály. Jde o vzájemnou korelaci:
jádro se nepřevrací.

Hodnocení: součet přes $m, n$ a kanály $c$ (2); krok násobí výstupní index (1);
samostatné jádro pro každý výstupní kanál $o$ (1); bez převrácení / vzájemná korelace (1).
""",
    "q2_padding": r"""
**Vzorová odpověď (5 bodů).** VALID bere v úvahu jen ty pozice, u kterých leží celé jádro
uvnitř vstupního obrázku: výstup má při kroku 1 velikost $(H - N + 1) \times (W - M + 1)$
(obecně $\lfloor (H - N) / s \rfloor + 1$), je tedy kratší o šířku (výšku) jádra **minus jedna**.
SAME zachová původní rozměry, $H \times W$ při kroku 1 (obecně $\lceil H / s \rceil$): původní
obrázek se doplní nulami a pak se spustí VALID, takže krajní hodnoty nejsou kombinovány z plného
jádra, ale jen z jeho části uvnitř obrázku. Celkem se doplní $N - 1$ řádků a $M - 1$ sloupců,
rovnoměrně na obě strany, lichý řádek (sloupec) dole (vpravo).

Hodnocení: definice VALID (1) a velikost (1,5, *ne* $H - N$); definice SAME (1) a velikost (1);
kam jde doplnění (0,5).
""",
}
