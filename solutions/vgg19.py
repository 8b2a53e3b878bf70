"""Worked solutions of the `vgg19` assignment (the seed's question 4).

The single source of the solution code: `cnncourse build`
copies each function into its solution cell of
`assignments/source/vgg19/vgg19.ipynb`.

VGG-19 (Simonyan and Zisserman, 2014, configuration E): five blocks of 3x3
SAME convolutions with ReLU, 2, 2, 4, 4 and 4 of them with 64, 128, 256, 512
and 512 channels, each block ending in a 2x2 max pooling with stride 2; then
three fully connected layers (4096, 4096, classes) and a softmax.
"""

def build_vgg19(num_classes=1000, input_shape=(224, 224, 3), batch_norm=False):
    """VGG-19 assembled from cnncore's layers (as torchvision's make_layers, with Keras' names)."""
    from cnncore.layers import BatchNorm, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
    from cnncore.models import Sequential

    layers = []
    block, conv = 1, 0
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
              512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]:
        if v == "M":
            layers.append(MaxPool2D(2, 2, "valid", name=f"block{block}_pool"))
            block, conv = block + 1, 0
            continue
        conv += 1
        # With batch norm the convolution needs no bias: f(BN(Wx)), beta shifts instead.
        layers.append(Conv2D(v, 3, 1, "same", use_bias=not batch_norm, name=f"block{block}_conv{conv}"))
        if batch_norm:
            layers.append(BatchNorm(name=f"block{block}_bn{conv}"))
        layers.append(ReLU(name=f"block{block}_relu{conv}"))
    layers += [Flatten(name="flatten"),
               Dense(4096, name="fc1"), ReLU(name="fc1_relu"),
               Dense(4096, name="fc2"), ReLU(name="fc2_relu"),
               Dense(num_classes, name="predictions"), Softmax(name="softmax")]
    return Sequential(layers, input_shape=input_shape, name="my_vgg19")


def vgg19_stages(input_shape=(224, 224, 3), num_classes=1000, batch_norm=False):
    """Output shape and trainable parameters of each stage of VGG-19, by hand.

    Returns a list of 8 rows (stage, output shape, parameters):
    block1 .. block5 (the convolutions and the pooling of each block), fc1, fc2, predictions.
    """
    height, width, channels = input_shape
    rows = []
    for block, (convs, filters) in enumerate([(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)], start=1):
        params = 0
        for _ in range(convs):
            params += 3 * 3 * channels * filters          # the kernel
            if batch_norm:
                params += 2 * filters                     # gamma and beta (no conv bias)
            else:
                params += filters                         # the bias
            channels = filters
        height, width = height // 2, width // 2          # 2x2 max pooling, stride 2
        rows.append((f"block{block}", (height, width, channels), params))
    features = height * width * channels                  # the flatten before fc1
    for name, units in [("fc1", 4096), ("fc2", 4096), ("predictions", num_classes)]:
        rows.append((name, (units,), features * units + units))
        features = units
    return rows


def receptive_field(num_layers, kernel_size=3):
    """Side of the input window that one output pixel of a stack of stride-1 convolutions sees.

    One k x k layer sees k pixels; each further layer widens the window by
    k - 1 (its k taps reach k - 1 more pixels of the layer below).
    """
    return 1 + num_layers * (kernel_size - 1)


WRITTEN_ANSWERS = {
    "q4_vgg19": r"""
**Model answer (5 points).**

*Architecture (2).* Input 224 x 224 x 3. Five blocks of 3x3 convolutions (stride 1, SAME, ReLU), each
ending in a 2x2 max pooling with stride 2: 2 x conv3-64, 2 x conv3-128, 4 x conv3-256, 4 x conv3-512,
4 x conv3-512 (16 convolutions); the pooling halves the height and width (224 -> 7) while the channels
double after each pooling until 512. Then 3 fully connected layers (4096, 4096, 1000; ReLU, dropout)
and a softmax. 19 weight layers, about 144 million parameters, 103 million of them in fc1.

*Why only 3x3 (2).* Two stacked 3x3 convolutions see a 5x5 window and three see 7x7 (receptive field
1 + L(k - 1)), with fewer parameters: 2 * 9 C^2 = 18 C^2 instead of 25 C^2 for one 5x5 (27 C^2 against
49 C^2 for 7x7), fewer operations, and a ReLU between them, so a more non-linear, more expressive
function.

*Why a fixed input size (1).* The convolutions and poolings work on any size (a multiple of 32), but
fc1 has a fixed number of inputs, 7 * 7 * 512 = 25088; another size changes the flattened length.
(Global average pooling or fully convolutional layers remove that limit.)
""",
}

# The Czech edition's model answer (assignments/source/vgg19_cs), in the words of the exam's own answer.
WRITTEN_ANSWERS_CS = {
    "q4_vgg19": r"""
**Vzorová odpověď (5 bodů).**

*Architektura (2).* Vstup 224 x 224 x 3. Pět bloků konvolucí 3x3 (krok 1, SAME, ReLU), každý
zakončený max poolingem 2x2 s krokem 2: 2 x conv3-64, 2 x conv3-128, 4 x conv3-256, 4 x conv3-512,
4 x conv3-512 (16 konvolucí); pooling půlí výšku a šířku (224 -> 7) a vždy po max poolingu
zdvojnásobíme počet kanálů, až do 512 (než nám dojde paměť v posledním bloku). Pak 3 plně
propojené vrstvy (4096, 4096, 1000; ReLU, dropout) a softmax. 19 vrstev s vahami, asi 144 milionů
parametrů, z toho 103 milionů ve fc1.

*Proč jen 3x3 (2).* Nepoužívají se 5x5 konvoluce, protože dvě 3x3 za sebou mají stejné receptivní
pole 5x5 (tři mají 7x7; obecně 1 + L(k - 1)), ale mají méně parametrů: 2 * 9 C^2 = 18 C^2 místo
25 C^2 u jedné 5x5 (27 C^2 oproti 49 C^2 u 7x7), jsou rychlejší a mezi nimi je ReLU, takže
vyjádří nelineárnější funkci.

*Proč pevná velikost vstupu (1).* Kvůli finálním FC vrstvám museli používat obrázky fixní velikosti:
fc1 má pevný počet vstupů, 7 * 7 * 512 = 25088, a jiná velikost změní délku zploštěného vektoru.
Samotné konvoluce a poolingy by si s různě velkými obrázky (násobky 32) poradily. (Globální průměrový
pooling nebo plně konvoluční vrstvy toto omezení odstraní.)
""",
}
