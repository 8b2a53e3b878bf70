"""The message catalogue of the grader: every diagnosis a student reads, in English and in Czech.

The checks say ``t("flipped_kernel")`` instead of writing the English text,
and the language is the one of the assignment being graded (``conv2d_cs`` ->
Czech), set around a check's grading with :func:`language`.  Every key has a
text in every language of :data:`LANGUAGES` with the same ``{fields}``
(``tests/test_grading.py`` fails otherwise).

The grader parses its own diagnostics: " -- " separates a failure from its
hint, "; " starts a new line (a few English texts use it inside a sentence,
which breaks their line there; the Czech texts do not), and a hint's first
clause (up to ": ", "; " or " (") names the mistake for the class report.
So a text in any language puts " -- " only where its English text does, and
the Czech texts use "; " only where English separates two outputs.
"""
import contextlib
import contextvars
import string

LANGUAGES = ("en", "cs")
_current = contextvars.ContextVar("cnncourse_language", default="en")

MESSAGES = {
    # ------------------------------------------------------------ the run of a check
    "forbidden_hint": {
        "en": "This exercise asks you to implement {fn} yourself with NumPy; the reference library "
              "and the libraries that would do the work (cnncore, torch, SciPy, ...) are not available "
              "while grading, and a function that needs them earns no points.",
        "cs": "V tomto cvičení máte {fn} naprogramovat sami v NumPy. Referenční knihovna ani knihovny, "
              "které by práci udělaly za vás (cnncore, torch, SciPy, ...), nejsou při hodnocení k dispozici, "
              "a funkce, která je potřebuje, nezíská žádné body.",
    },
    "cell_imports": {"en": "{fn}: no credit. Its cell imports {module}.",
                     "cs": "{fn}: žádné body. Její buňka importuje {module}."},
    "function_imports": {"en": "{fn}: no credit. Your function imports {module}.",
                         "cs": "{fn}: žádné body. Vaše funkce importuje {module}."},
    "not_defined": {"en": "{fn} is not defined: run its cell, and keep the name and the signature given.",
                    "cs": "{fn} není definovaná: spusťte její buňku a zachovejte zadaný název a signaturu."},
    "cell_raised": {"en": "  Its cell raised {error}", "cs": "  Její buňka vyvolala {error}"},
    "not_run_timeouts": {"en": "not run: {n} cases already ran out of time",
                         "cs": "nespuštěno: u {n} případů už vypršel čas"},
    "not_run_total": {"en": "not run: the cases so far took more than {seconds:g} s in total",
                      "cs": "nespuštěno: dosavadní případy trvaly celkem déle než {seconds:g} s"},
    "not_run": {"en": "not run", "cs": "nespuštěno"},
    "not_run_prefix": {"en": "not run: ", "cs": "nespuštěno: "},
    "stopped_after": {"en": "stopped after {seconds:g} s (an endless loop?)",
                      "cs": "zastaveno po {seconds:g} s (nekonečný cyklus?)"},
    "memory_bound": {"en": "{gib:g} GiB of memory", "cs": "{gib:g} GiB paměti"},
    "memory_allowed": {"en": "the memory the grader allows", "cs": "paměť, kterou hodnoticí program dovoluje"},
    "used_too_much_memory": {"en": "your function used more than {bound} ({error})",
                             "cs": "vaše funkce použila víc než {bound} ({error})"},
    "score": {"en": "Score for {check}: {score:g} / {points:g}",
              "cs": "Body za {check}: {score:g} / {points:g}"},
    "not_graded": {"en": "{fn}: not graded: {reason}.", "cs": "{fn}: nehodnoceno: {reason}."},
    # ------------------------------------------------------------ judging the cases
    "incomplete": {"en": "{fn}: the grader received an incomplete set of results.",
                   "cs": "{fn}: hodnoticí program nedostal všechny výsledky."},
    "ran_out_of_time": {"en": "ran out of time", "cs": "vypršel čas"},
    "raised": {"en": "raised {error}", "cs": "vyvolala {error}"},
    "an_error": {"en": "an error", "cs": "chybu"},
    "returned_unexpected": {"en": "returned something unexpected", "cs": "vrátila něco nečekaného"},
    "missing_output": {"en": "missing", "cs": "chybí"},
    "n_outputs": {"en": "returned {got} outputs, expected {expected}",
                  "cs": "vrátila jiný počet výstupů ({got}), očekává se {expected}"},
    "no_result": {"en": "no result", "cs": "žádný výsledek"},
    "cases_passed": {"en": "{fn}: {passed} of {total} generated cases passed.",
                     "cs": "{fn}: prošlo {passed} z {total} vygenerovaných případů."},
    "case": {"en": "  case {i}: {label}", "cs": "  případ {i}: {label}"},
    "same_mistake": {"en": "        -> (the same mistake as above)", "cs": "        -> (stejná chyba jako výše)"},
    "more_failing": {"en": "  ... and {n} more failing cases.", "cs": "  ... a další neúspěšné případy ({n})."},
    "further_not_run": {"en": "  {n} further cases were not run ({reason}).",
                        "cs": "  Další případy se nespustily ({n}: {reason})."},
    "note_printed": {"en": "  note: your function printed output while graded (hidden here); that costs nothing.",
                     "cs": "  poznámka: vaše funkce při hodnocení něco vypsala (zde skryto), to nic nestojí."},
    "note_warnings": {"en": "  note: your function raised NumPy/Python warnings: {warning} -- that costs nothing, "
                            "but worth a look.",
                      "cs": "  poznámka: vaše funkce vyvolala varování NumPy/Pythonu: {warning} -- to nic nestojí, "
                            "ale stojí za pohled."},
    "damaged_input": {"en": "your function damaged its input arrays", "cs": "vaše funkce poškodila svá vstupní pole"},
    "modified_input": {"en": "your function modified its input `{name}` in place; it must leave its inputs "
                             "untouched and return new arrays",
                       "cs": "vaše funkce změnila svůj vstup `{name}` na místě, vstupy musí nechat beze změny "
                             "a vracet nová pole"},
    # ------------------------------------------------------------ comparing one output
    "output_problem": {"en": "{name}: {problem}", "cs": "{name}: {problem}"},
    "wrong_shape": {"en": "{name}: expected shape {expected}, got {got}",
                    "cs": "{name}: očekávaný tvar {expected}, vyšlo {got}"},
    "wrong_dtype": {"en": "{name}: expected dtype {expected} (the input's dtype), got {got}",
                    "cs": "{name}: očekávaný dtype {expected} (dtype vstupu), vyšlo {got}"},
    "not_finite": {"en": "{name}: contains NaN or inf (first at index {index})",
                   "cs": "{name}: obsahuje NaN nebo inf (první na indexu {index})"},
    "values_differ": {"en": "{name}: values differ, max error {error:.3g} at index {index} "
                            "(expected {expected:.6g}, got {got:.6g})",
                      "cs": "{name}: hodnoty se liší, největší chyba {error:.3g} na indexu {index} "
                            "(očekáváno {expected:.6g}, vyšlo {got:.6g})"},
    "scaled": {"en": "your values are {c:.4g} times the expected ones",
               "cs": "vaše hodnoty jsou {c:.4g}násobkem očekávaných"},
    # the names of outputs that are words
    "out_output_size": {"en": "output size", "cs": "velikost výstupu"},
    "out_table": {"en": "table", "cs": "tabulka"},
    "out_receptive_field": {"en": "receptive field", "cs": "receptivní pole"},
    # ------------------------------------------------------------ conv_output_size
    "single_int": {"en": "expected a single int, got an array of shape {shape}",
                   "cs": "očekává se jedno celé číslo (int), vyšlo pole tvaru {shape}"},
    "float_not_int": {"en": "expected the int {expected}, got {got:g} (a {dtype}); return an int",
                      "cs": "očekává se int {expected}, vyšlo {got:g} ({dtype}), vraťte int"},
    "expected_got": {"en": "expected {expected}, got {got}", "cs": "očekáváno {expected}, vyšlo {got}"},
    "valid_one_too_few": {"en": "one too few: VALID fits the kernel at positions 0 .. size - kernel_size, "
                                "that is size - kernel_size + 1 positions (with stride 1)",
                          "cs": "o jednu méně: VALID umístí jádro na pozice 0 .. size - kernel_size, "
                                "to je size - kernel_size + 1 pozic (při kroku 1)"},
    "valid_one_too_many": {"en": "one too many", "cs": "o jednu více"},
    "same_floor": {"en": "SAME gives ceil(size / stride), not floor",
                   "cs": "SAME dává ceil(size / stride), ne floor"},
    "same_ignores_stride": {"en": "with SAME padding the stride still divides the size: ceil(size / stride)",
                            "cs": "i při doplnění SAME krok dělí velikost: ceil(size / stride)"},
    "valid_is_same": {"en": "that is the SAME size; VALID only counts positions where the whole kernel fits",
                      "cs": "to je velikost pro SAME, VALID počítá jen pozice, kde se vejde celé jádro"},
    "same_is_valid": {"en": "that is the VALID size; SAME pads so that the output is ceil(size / stride)",
                      "cs": "to je velikost pro VALID, SAME doplňuje tak, aby výstup měl ceil(size / stride)"},
    # ------------------------------------------------------------ conv2d_forward
    "strides_swapped_shape": {"en": "the row and column strides are swapped: your output has the shape of "
                                    "stride (cols, rows), and stride is (rows, cols)",
                              "cs": "kroky po řádcích a po sloupcích jsou prohozené: váš výstup má tvar pro "
                                    "krok (sloupce, řádky), a krok je (řádky, sloupce)"},
    "kernel_transposed_shape": {"en": "that is the shape for a {kw}x{kh} kernel: the kernel is (KH, KW, C_in, C_out), "
                                      "rows first",
                                "cs": "to je tvar pro jádro {kw}x{kh}: jádro je (KH, KW, C_in, C_out), "
                                      "řádky první"},
    "same_ignored": {"en": "that is the VALID shape: padding='same' was ignored",
                     "cs": "to je tvar pro VALID: padding='same' se nepoužilo"},
    "same_stride_ignored": {"en": "with SAME padding the stride still applies: the output is ceil(size / stride)",
                            "cs": "i při doplnění SAME se krok uplatní: výstup má ceil(size / stride)"},
    "valid_row_short": {"en": "one row or column short: VALID has floor((size - k) / stride) + 1 positions",
                        "cs": "o řádek nebo sloupec méně: VALID má floor((size - k) / stride) + 1 pozic"},
    "flipped_kernel": {"en": "your output equals the true convolution: the kernel is flipped. CNN 'convolution' "
                             "is cross-correlation: y[i, j] = sum x[i*sh + m, j*sw + n] * K[m, n]",
                       "cs": "váš výstup se rovná skutečné konvoluci: jádro je převrácené. „Konvoluce“ v CNN "
                             "je vzájemná korelace: y[i, j] = sum x[i*sh + m, j*sw + n] * K[m, n]"},
    "kernel_transposed": {"en": "the kernel's rows and columns are swapped: kernel[m, n] multiplies "
                                "x[i*sh + m, j*sw + n]",
                          "cs": "řádky a sloupce jádra jsou prohozené: kernel[m, n] násobí x[i*sh + m, j*sw + n]"},
    "strides_swapped": {"en": "the row and column strides are swapped (stride is (rows, cols))",
                        "cs": "kroky po řádcích a po sloupcích jsou prohozené (krok je (řádky, sloupce))"},
    "same_wrong_side": {"en": "SAME padding is on the wrong side: when the total padding is odd, "
                              "the extra row/column goes at the bottom/right (as TensorFlow does)",
                        "cs": "doplnění SAME je na špatné straně: když je celkové doplnění liché, "
                              "přebývající řádek/sloupec patří dolů/doprava (jako v TensorFlow)"},
    # ------------------------------------------------------------ conv2d_backward
    "dkernel_mean": {"en": "dkernel is divided by the batch size: the gradient is the sum over the batch, not the mean",
                     "cs": "dkernel je vydělený velikostí dávky: gradient je součet přes dávku, ne průměr"},
    "dkernel_one_example": {"en": "dkernel is the gradient of example {b} only: add up the "
                                  "contributions of every example in the batch",
                            "cs": "dkernel je gradient jen příkladu {b}: sečtěte příspěvky "
                                  "všech příkladů v dávce"},
    "dkernel_flipped": {"en": "dkernel is flipped: the forward pass is a cross-correlation",
                        "cs": "dkernel je převrácený: dopředný průchod je vzájemná korelace"},
    "dx_padded": {"en": "dx has the shape of the padded input: cut the padding off",
                  "cs": "dx má tvar doplněného vstupu: doplnění odřízněte"},
    "dx_flipped": {"en": "dx is the gradient of a convolution with the flipped kernel",
                   "cs": "dx je gradient konvoluce s převráceným jádrem"},
    # ------------------------------------------------------------ batch normalization
    "bn_stats_per_position": {"en": "the statistics have one value per position and channel: for convolutional "
                                    "input, normalize each channel over the batch AND all positions (axes 0, 1, 2)",
                              "cs": "statistiky mají jednu hodnotu na pozici a kanál: u konvolučního vstupu "
                                    "normalizujte každý kanál přes dávku A všechny pozice (osy 0, 1, 2)"},
    "bn_one_per_channel": {"en": "keep one value per channel, shape ({c},)",
                           "cs": "ponechte jednu hodnotu na kanál, tvar ({c},)"},
    "bn_over_features": {"en": "you averaged over the features of each example; average over the batch (axis 0)",
                         "cs": "průměrovali jste přes příznaky každého příkladu, průměrujte přes dávku (osa 0)"},
    "bn_unbiased": {"en": "that is the unbiased variance (divided by m - 1); batch norm uses the biased one, "
                          "divided by m",
                    "cs": "to je nestranný rozptyl (dělený m - 1), dávková normalizace používá vychýlený, "
                          "dělený m"},
    "bn_std": {"en": "that is the standard deviation, not the variance",
               "cs": "to je směrodatná odchylka, ne rozptyl"},
    "bn_y_unbiased": {"en": "y is normalized with the unbiased variance (m - 1); use the biased one (m)",
                      "cs": "y je normalizované nestranným rozptylem (m - 1), použijte vychýlený (m)"},
    "bn_eps_outside": {"en": "eps belongs under the square root: (x - mean) / sqrt(var + eps)",
                       "cs": "eps patří pod odmocninu: (x - mean) / sqrt(var + eps)"},
    "bn_per_position": {"en": "y is normalized per position (over the batch only); for convolutional input "
                              "normalize each channel over the batch and all positions",
                        "cs": "y je normalizované po pozicích (jen přes dávku), u konvolučního vstupu "
                              "normalizujte každý kanál přes dávku a všechny pozice"},
    "bn_no_affine": {"en": "gamma and beta are missing: y = gamma * x_hat + beta",
                     "cs": "chybí gamma a beta: y = gamma * x_hat + beta"},
    "bn_batch_stats_at_inference": {"en": "that is normalization with the statistics of this batch; at inference use "
                                          "the moving averages collected during training (moving_mean, moving_var)",
                                    "cs": "to je normalizace statistikami této dávky, při inferenci použijte "
                                          "klouzavé průměry nasbírané při tréninku (moving_mean, moving_var)"},
    "bn_divided_by_var": {"en": "divide by the standard deviation sqrt(moving_var + eps), not by the variance",
                          "cs": "dělte směrodatnou odchylkou sqrt(moving_var + eps), ne rozptylem"},
    "bn_eps_missing": {"en": "eps is missing: sqrt(moving_var + eps)", "cs": "chybí eps: sqrt(moving_var + eps)"},
    "momentum_backwards": {"en": "momentum is applied the wrong way round: moving = momentum * moving + "
                                 "(1 - momentum) * batch, so a momentum near 1 changes the averages slowly",
                           "cs": "moment je použitý obráceně: moving = momentum * moving + "
                                 "(1 - momentum) * batch, takže moment blízký 1 mění průměry pomalu"},
    "moving_is_batch": {"en": "that is the batch statistic itself, not a moving average",
                        "cs": "to je samotná statistika dávky, ne klouzavý průměr"},
    "bn_backward_constants": {"en": "dx treats the mean and the variance as constants; they depend on x too "
                                    "(dx has two more terms)",
                              "cs": "dx bere střední hodnotu a rozptyl jako konstanty, i ony závisejí na x "
                                    "(dx má ještě dva členy)"},
    "bn_backward_sum_axes": {"en": "sum the gradient over the batch and over all positions (axes 0, 1, 2)",
                             "cs": "sečtěte gradient přes dávku a přes všechny pozice (osy 0, 1, 2)"},
    "bn_backward_means": {"en": "the parameter gradients are sums, not means",
                          "cs": "gradienty parametrů jsou součty, ne průměry"},
    # ------------------------------------------------------------ vgg19_stages, receptive_field
    "vgg_rows": {"en": "expected a list of {n} rows (one per stage: {stages}), got {got} rows",
                 "cs": "očekává se seznam {n} řádků (jeden na stupeň: {stages}), vyšlo {got} řádků"},
    "vgg_not_a_list": {"en": "not a list of", "cs": "ne seznam"},
    "vgg_row_shape": {"en": "each row should be (stage name, output shape, parameters); got {row}",
                      "cs": "každý řádek má být (název stupně, tvar výstupu, parametry), vyšlo {row}"},
    "vgg_stage_name": {"en": "row {stage}: the stage is named {got}, expected {expected}",
                       "cs": "řádek {stage}: stupeň se jmenuje {got}, očekáváno {expected}"},
    "vgg_shape": {"en": "{stage}: expected output shape {expected}, got {got}",
                  "cs": "{stage}: očekávaný tvar výstupu {expected}, vyšlo {got}"},
    "vgg_params": {"en": "{stage}: expected {expected:,} parameters, got {got}",
                   "cs": "{stage}: očekáváno {expected:,} parametrů, vyšlo {got}"},
    "vgg_more_wrong": {"en": "and {n} more stages wrong", "cs": "a dalších {n} stupňů špatně"},
    "vgg_pooling": {"en": "the 2x2 max pooling at the end of the block halves the height and width",
                    "cs": "max pooling 2x2 na konci bloku půlí výšku a šířku"},
    "vgg_channels": {"en": "the channels of the block's convolutions",
                     "cs": "kanály konvolucí bloku"},
    "vgg_int": {"en": "an int, please", "cs": "celé číslo (int), prosím"},
    "vgg_bn_params": {"en": "batch norm adds gamma and beta per channel",
                      "cs": "dávková normalizace přidává gamma a beta na kanál"},
    "vgg_bn_no_bias": {"en": "with batch norm the convolutions have no bias: f(BN(Wx))",
                       "cs": "s dávkovou normalizací nemají konvoluce bias: f(BN(Wx))"},
    "vgg_bias": {"en": "each convolution also has one bias per output channel",
                 "cs": "každá konvoluce má navíc jeden bias na výstupní kanál"},
    "vgg_conv_weights": {"en": "a 3x3 convolution from C_in to C_out channels has 3 * 3 * C_in * C_out weights",
                         "cs": "konvoluce 3x3 z C_in do C_out kanálů má 3 * 3 * C_in * C_out vah"},
    "vgg_fc1": {"en": "fc1's input is the flattened output of block5: H/32 * W/32 * 512 values",
                "cs": "vstup fc1 je zploštěný výstup block5: H/32 * W/32 * 512 hodnot"},
    "rf_float": {"en": "expected the int {expected}, got the float {got:g}",
                 "cs": "očekává se int {expected}, vyšel float {got:g}"},
    "rf_times": {"en": "neighbouring layers' windows overlap: each further layer adds k - 1, not k",
                 "cs": "okna sousedních vrstev se překrývají: každá další vrstva přidá k - 1, ne k"},
    "rf_power": {"en": "the receptive field grows additively with depth (stride 1), not multiplicatively",
                 "cs": "receptivní pole roste s hloubkou sčítáním (krok 1), ne násobením"},
    # ------------------------------------------------------------ the mistakes' short names (class report)
    "label_wrong_shape": {"en": "wrong shape", "cs": "špatný tvar"},
    "label_wrong_dtype": {"en": "wrong dtype", "cs": "špatný dtype"},
    "label_not_finite": {"en": "NaN or inf", "cs": "NaN nebo inf"},
    "label_wrong_values": {"en": "wrong values", "cs": "špatné hodnoty"},
    "label_modifies_input": {"en": "modifies its input", "cs": "mění svůj vstup"},
    "label_timeout": {"en": "ran out of time", "cs": "vypršel čas"},
    "label_crashed": {"en": "crashed", "cs": "spadla"},
    "label_memory": {"en": "used too much memory", "cs": "příliš mnoho paměti"},
    "label_raises": {"en": "raises an error", "cs": "vyvolává chybu"},
    "label_raises_kind": {"en": "raises {kind}", "cs": "vyvolává {kind}"},
    "label_returns": {"en": "returns the wrong kind of result", "cs": "vrací špatný druh výsledku"},
    "label_wrong_result": {"en": "wrong result", "cs": "špatný výsledek"},
    "label_bad_reply": {"en": "broke the grader's channel", "cs": "narušila kanál hodnoticího programu"},
    "label_forbidden": {"en": "uses a library that does the work (cnncore, torch, SciPy, ...)",
                        "cs": "používá knihovnu, která práci udělá za ni (cnncore, torch, SciPy, ...)"},
    "label_not_defined": {"en": "not defined", "cs": "není definovaná"},
    # ------------------------------------------------------------ what the sandbox reports, by code
    # The student context (student.py, untrusted) sends only a code and plain fields; the words are here.
    "ret_none": {"en": "returned None (forgot a `return`?)", "cs": "vrátila None (chybí `return`?)"},
    "ret_not_array": {"en": "returned a {type} that NumPy cannot turn into an array ({error})",
                      "cs": "vrátila objekt typu {type}, který NumPy neumí převést na pole ({error})"},
    "ret_not_numeric": {"en": "returned a {type} of dtype {dtype}, not a numeric array",
                        "cs": "vrátila objekt typu {type} s dtype {dtype}, ne číselné pole"},
    "ret_not_tuple": {"en": "returned a {type}; expected a tuple of {n} arrays",
                      "cs": "vrátila objekt typu {type}, očekává se n-tice (tuple) s {n} poli"},
    "ret_too_few": {"en": "returned {got} values; expected {n}",
                    "cs": "vrátila málo hodnot ({got}), očekává se {n}"},
    "ret_data_type": {"en": "returned a {type}, which is not made of ints, floats, strings, tuples and lists",
                      "cs": "vrátila objekt typu {type}, který se neskládá z celých a desetinných čísel, "
                            "řetězců, n-tic a seznamů"},
    "ret_data_nested": {"en": "returned data nested too deeply (more than {depth} levels of lists)",
                        "cs": "vrátila data zanořená příliš hluboko (víc než {depth} úrovní seznamů)"},
    "ret_data_long": {"en": "returned a list that is too long (more than {items} items)",
                      "cs": "vrátila příliš dlouhý seznam (víc než {items} položek)"},
    "cell_timeout": {"en": "TimeoutError: the cell ran longer than {seconds:g} s",
                     "cs": "TimeoutError: buňka běžela déle než {seconds:g} s"},
    # ------------------------------------------------------------ the trusted end of the channel (session.py)
    "cells_too_slow": {"en": "the notebook's cells did not finish running within {seconds:g} s",
                       "cs": "buňky notebooku nedoběhly do {seconds:g} s"},
    "cells_broke_channel": {"en": "the notebook broke the grader's channel while its cells ran",
                            "cs": "notebook při běhu svých buněk narušil kanál hodnoticího programu"},
    "reply_too_big": {"en": "sent a reply of {n} bytes", "cs": "poslala odpověď o velikosti {n} bajtů"},
    "reply_malformed": {"en": "the reply was not a well-formed result",
                        "cs": "odpověď nebyla platným výsledkem"},
    "exit_unknown": {"en": "the process running your code stopped answering",
                     "cs": "proces, ve kterém běžel váš kód, přestal odpovídat"},
    "exit_cpu": {"en": "the process running your code used more than {seconds} s of CPU time",
                 "cs": "proces, ve kterém běžel váš kód, spotřeboval víc než {seconds} s procesorového času"},
    "exit_file": {"en": "your notebook wrote a file larger than {mib} MiB",
                  "cs": "váš notebook zapsal soubor větší než {mib} MiB"},
    "exit_segv": {"en": "the process running your code crashed (segmentation fault)",
                  "cs": "proces, ve kterém běžel váš kód, spadl (segmentation fault)"},
    "exit_signal": {"en": "the process running your code was killed (signal {sig})",
                    "cs": "proces, ve kterém běžel váš kód, byl ukončen (signál {sig})"},
    "exit_code": {"en": "the process running your code exited (exit code {code}): sys.exit, os._exit or a crash",
                  "cs": "proces, ve kterém běžel váš kód, skončil (návratový kód {code}): sys.exit, os._exit "
                        "nebo pád"},
    # ------------------------------------------------------------ the released notebook (ClearSolutions)
    "stub_code": {"en": "# YOUR CODE HERE\nraise NotImplementedError()",
                  "cs": "# SEM NAPIŠTE SVŮJ KÓD\nraise NotImplementedError()"},
    "stub_answer": {"en": "YOUR ANSWER HERE", "cs": "SEM NAPIŠTE SVOU ODPOVĚĎ"},
}


def current():
    """The language the grader speaks now."""
    return _current.get()


@contextlib.contextmanager
def language(lang):
    """Speak ``lang`` inside the block (a context variable: threads and tasks keep their own)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; one of {LANGUAGES}")
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def t(key, lang=None, **fields):
    """The message ``key`` in the current language (or ``lang``), its ``{fields}`` filled in."""
    return MESSAGES[key][lang or _current.get()].format(**fields)


class Text(str):
    """A catalogue message kept by its key: it reads as its English text (for logs and the
    instructor) and :meth:`say` gives it in any language (for the student)."""

    def __new__(cls, key, **fields):
        self = super().__new__(cls, MESSAGES[key]["en"].format(**fields))
        self.key, self.fields = key, fields
        return self

    def say(self, lang=None):
        return t(self.key, lang, **self.fields)


def say(text, lang=None):
    """``text`` in the current language (or ``lang``) when it is a :class:`Text`, else as it is."""
    return text.say(lang) if isinstance(text, Text) else text


def fields(text):
    """The names of the ``{fields}`` of a message."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def language_of(name):
    """The language of an assignment or notebook name: "cs" for conv2d_cs (or conv2d_cs.ipynb), else "en"."""
    if not name:
        return "en"
    base = str(name).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if base.endswith(".ipynb"):
        base = base[:-len(".ipynb")]
    return "cs" if base.endswith("_cs") else "en"


__all__ = ["MESSAGES", "LANGUAGES", "t", "language", "current", "fields", "language_of", "Text", "say"]
