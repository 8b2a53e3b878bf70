"""Worked solutions of the `batchnorm` assignment (the seed's question 3).

The single source of the solution code: `cnncourse build`
copies each function into its solution cell of
`assignments/source/batchnorm/batchnorm.ipynb`.  Every function stands on
its own.

Batch normalization normalizes every feature over all axes but the last:
over the batch for dense input `(N, F)`, over the batch and all positions for
convolutional input `(N, H, W, C)` (one mean and variance per channel).  The
batch variance is the biased one (divided by m).  Defaults as in Keras:
`eps=1e-3`, `moving = momentum * moving + (1 - momentum) * batch` with
`momentum=0.99`.
"""
import numpy as np


def batch_norm_train(x, gamma, beta, eps=1e-3):
    """Training-mode batch norm: normalize with the statistics of this batch.

    x: (N, F) or (N, H, W, C); gamma, beta: (F,) or (C,).
    Returns y (the shape of x) and the batch mean and (biased) variance, shape (C,).
    """
    axes = tuple(range(x.ndim - 1))          # the batch, and for images every position too
    mean = x.mean(axis=axes)
    var = ((x - mean) ** 2).mean(axis=axes)  # biased: divided by m, as in the algorithm
    x_hat = (x - mean) / np.sqrt(var + eps)
    y = gamma * x_hat + beta
    return y, mean, var


def batch_norm_infer(x, gamma, beta, moving_mean, moving_var, eps=1e-3):
    """Inference-mode batch norm: the statistics collected during training, not the batch's."""
    return gamma * (x - moving_mean) / np.sqrt(moving_var + eps) + beta


def update_moving_stats(moving_mean, moving_var, mean, var, momentum=0.99):
    """One step of the exponential moving averages; returns new arrays."""
    new_mean = momentum * moving_mean + (1 - momentum) * mean
    new_var = momentum * moving_var + (1 - momentum) * var
    return new_mean, new_var


def batch_norm_backward(dy, x, gamma, mean, var, eps=1e-3):
    """Gradients of training-mode batch norm: (dx, dgamma, dbeta).

    mean and var depend on x, so dx has three terms: the direct one, and the
    ones through the mean and through the variance.  With x_hat the
    normalized input and m the number of values per channel:

        dx = (gamma / sqrt(var + eps)) / m * (m * dy - sum(dy) - x_hat * sum(dy * x_hat))
    """
    axes = tuple(range(x.ndim - 1))
    m = x.size // x.shape[-1]                 # values per channel
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * x_hat).sum(axis=axes)
    dx_hat = dy * gamma
    dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=axes) - x_hat * (dx_hat * x_hat).sum(axis=axes))
    return dx, dgamma, dbeta


WRITTEN_ANSWERS = {
    "q3_batchnorm": r"""
**Model answer (10 points).**

*What and why (2).* Training changes the weights of the early layers, and with them the distribution
of the inputs of every later layer, which must keep re-adapting to it. Batch normalization
normalizes the inputs of a layer to zero mean and unit variance over the batch, and lets the
network rescale and shift them with learned $\gamma$ and $\beta$ (so it loses nothing it could
represent). Training becomes faster and less sensitive to initialization and learning rate, and
the noise of the batch statistics regularizes a little.

*Training (3).* For a batch $x^{(1)}, \dots, x^{(m)}$:
$\mu = \frac1m \sum_i x^{(i)}$, $\sigma^2 = \frac1m \sum_i (x^{(i)} - \mu)^2$,
$\hat x^{(i)} = (x^{(i)} - \mu) / \sqrt{\sigma^2 + \varepsilon}$, $y^{(i)} = \gamma \hat x^{(i)} + \beta$;
and update the moving averages $\mu_{mov} \leftarrow \alpha \mu_{mov} + (1 - \alpha) \mu$,
$\sigma^2_{mov} \leftarrow \alpha \sigma^2_{mov} + (1 - \alpha) \sigma^2$ (momentum $\alpha \approx 0.99$).
Gradients flow through $\mu$ and $\sigma^2$ too.

*Inference (3).* No batch statistics: $y = \gamma (x - \mu_{mov}) / \sqrt{\sigma^2_{mov} + \varepsilon} + \beta$,
a fixed affine map per feature (it can be folded into the previous layer's weights). The layer is
placed before the activation, $f(BN(Wx))$, and the previous layer needs no bias ($\beta$ plays its role).

*Over what (2).* Dense layers: every neuron (feature) on its own, over the examples of the batch.
Convolutional layers: every channel on its own, over the batch **and all spatial positions**
($m = N \cdot H \cdot W$), so one $\gamma, \beta$ per channel, keeping the convolution's translation
equivariance.
""",
}

# The Czech edition's model answer (assignments/source/batchnorm_cs), in the words of the exam's own answer.
WRITTEN_ANSWERS_CS = {
    "q3_batchnorm": r"""
**Vzorová odpověď (10 bodů).**

*Co a proč (2).* Když se během SGD změní distribuce hodnot vrstev vlevo, musíme jen kvůli této
změně měnit i vrstvy napravo. Proto chceme všechny vrstvy normalizovat tak, aby tyto změny byly
co nejmenší. Dávková normalizace normalizuje vstupy vrstvy přes dávku na nulovou střední hodnotu
a jednotkový rozptyl a pak dovolí síti pomocí naučených parametrů $\gamma$ a $\beta$ přeškálovat
a posunout standardní rozdělení na libovolnou střední hodnotu a rozptyl (takže nepřijde o nic, co
by uměla vyjádřit). Trénink je rychlejší a méně citlivý na inicializaci a rychlost učení a šum
statistik dávky trochu regularizuje.

*Trénink (3).* Pro dávku $x^{(1)}, \dots, x^{(m)}$:
$\mu = \frac1m \sum_i x^{(i)}$, $\sigma^2 = \frac1m \sum_i (x^{(i)} - \mu)^2$,
$\hat x^{(i)} = (x^{(i)} - \mu) / \sqrt{\sigma^2 + \varepsilon}$, $y^{(i)} = \gamma \hat x^{(i)} + \beta$;
a aktualizujeme klouzavé průměry $\mu_{mov} \leftarrow \alpha \mu_{mov} + (1 - \alpha) \mu$,
$\sigma^2_{mov} \leftarrow \alpha \sigma^2_{mov} + (1 - \alpha) \sigma^2$ (moment $\alpha \approx 0.99$).
Gradienty tečou i přes $\mu$ a $\sigma^2$.

*Inference (3).* Během inference už nepřepočítáváme $\mu$ a $\sigma^2$, ale používáme hodnoty
získané při tréninku, tedy klouzavé průměry (ne statistiky poslední dávky):
$y = \gamma (x - \mu_{mov}) / \sqrt{\sigma^2_{mov} + \varepsilon} + \beta$, pevné afinní zobrazení
pro každý příznak (lze ho zahrnout do vah předchozí vrstvy). Aktivační funkci používáme po
batchnormu, $f(BN(Wx))$, a biasy předchozí vrstvy přeskakujeme (jejich roli hraje $\beta$).

*Přes co (2).* Když je batchnorm použitý na plně propojených vrstvách, každý neuron (příznak) je
normalizován sám za sebe, v rámci dávky. V CNN normalizování probíhá v rámci celého kanálu: přes
dávku **a všechny prostorové pozice** ($m = N \cdot H \cdot W$), takže jedno $\gamma, \beta$ na
kanál, což zachovává ekvivarianci konvoluce vůči posunutí.
""",
}
