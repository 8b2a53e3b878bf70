"""The grader's message catalogue: every message in every language, with the same fields."""
import pytest

from cnncourse import build
from cnncourse.grading import messages
from cnncourse.grading.messages import LANGUAGES, MESSAGES, fields, language, language_of, t


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_exists_in_every_language_with_the_same_fields(key):
    texts = MESSAGES[key]
    assert set(texts) == set(LANGUAGES), f"{key}: a message in {sorted(texts)} only"
    assert all(texts[lang].strip() for lang in LANGUAGES), key
    assert len({frozenset(fields(texts[lang])) for lang in LANGUAGES}) == 1, f"{key}: the fields differ"


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_czech_messages_keep_the_graders_separators(key):
    """" -- " separates a failure from its hint and "; " starts a line: Czech uses them only as English does."""
    en, cs = MESSAGES[key]["en"], MESSAGES[key]["cs"]
    assert cs.count(" -- ") == en.count(" -- "), key
    assert "; " not in cs, key


def test_czech_is_czech():
    czech = "".join(MESSAGES[k]["cs"] for k in MESSAGES)
    assert len(set("áčďéěíňóřšťúůýž") & set(czech)) >= 10          # written with its diacritics
    same = [k for k in MESSAGES if MESSAGES[k]["cs"] == MESSAGES[k]["en"] and any(c.isalpha() for c in
                                                                                     MESSAGES[k]["en"].format(
            **{f: "" for f in fields(MESSAGES[k]["en"])}))]
    assert same == [], f"the same text in both languages: {same}"


def test_language_follows_the_assignment_and_is_scoped():
    assert language_of("conv2d_cs") == "cs" and language_of("conv2d_cs.ipynb") == "cs"
    assert language_of("conv2d") == "en" and language_of(None) == "en"
    assert language_of("submitted/ada/batchnorm_cs/") == "cs"
    assert all(language_of(build.edition(a, lang)) == lang for a in build.ASSIGNMENTS for lang in LANGUAGES)
    assert t("no_result") == "no result"
    with language("cs"):
        assert t("no_result") == "žádný výsledek"
        assert t("score", check="f", score=1.5, points=3) == "Body za f: 1.5 / 3"
    assert messages.current() == "en"
    with pytest.raises(ValueError):
        with language("de"):
            pass


# --------------------------------------------------------------------------
# what the sandbox and the channel report reaches the student in the assignment's language
# --------------------------------------------------------------------------

def _fake_grade(name, replies, lang, cell_errors=None):
    """grade() with ``replies(meta)`` standing in for the sandboxed student context: (result, arrays)."""
    from cnncourse.grading import grade, seed_for
    return grade(name, lambda meta, arrays: replies(meta), seed_for("tests", "messages"), lang=lang,
                 cell_errors=cell_errors)


def test_the_student_context_sends_codes_not_words():
    """What the sandbox finds wrong with a return value is a code and plain fields: no English for the student."""
    import numpy as np
    from cnncourse.grading.student import BadReturn, StudentContext, convert_result

    outputs, _, _ = convert_result(None, "arrays", None)
    assert outputs == [{"problem": "none", "type": "NoneType"}]
    outputs, _, _ = convert_result((np.zeros(2), "x"), "arrays", 2)
    assert outputs[1] == {"problem": "not_numeric", "dtype": "<U1", "type": "str"}
    for value, mode, n, code in [(np.zeros(2), "arrays", 2, "not_tuple"), ((np.zeros(2),), "arrays", 2, "too_few"),
                                 ({"a": 1}, "data", None, "data_type"), ([[[[[[[[1]]]]]]]], "data", None, "data_nested"),
                                 (list(range(10001)), "data", None, "data_long")]:
        with pytest.raises(BadReturn) as err:
            convert_result(value, mode, n)
        assert err.value.code == code and all(" " not in str(v) for v in err.value.fields.values())
    ctx = StudentContext(namespace={"f": lambda: 7})
    res, _ = ctx.call({"function": "f", "args": [], "kwargs": {}, "output": "arrays", "n_outputs": 3,
                       "seconds": 5}, {})
    assert res["status"] == "bad_return" and res["code"] == "not_tuple" and "message" not in res


@pytest.mark.parametrize("lang,words", [
    ("en", ["returned None (forgot a `return`?)", "returned 1 values expected 3", "expected a tuple of 3 arrays"]),
    ("cs", ["vrátila None (chybí `return`?)", "vrátila málo hodnot (1), očekává se 3",
            "vrátila objekt typu int, očekává se n-tice (tuple) s 3 poli"]),
])
def test_bad_returns_are_told_in_the_assignments_language(lang, words):
    def batch_norm_train(meta):
        return ({"status": "ok", "outputs": [{"problem": "none", "type": "NoneType"}] * 3}, {})

    found = _fake_grade("batch_norm_train", batch_norm_train, lang)
    assert words[0] in "\n".join(found.lines)
    replies = iter([{"status": "bad_return", "code": "too_few", "fields": {"got": 1, "n": 3}},
                    {"status": "bad_return", "code": "not_tuple", "fields": {"type": "int", "n": 3}}])
    found = _fake_grade("batch_norm_train", lambda meta: (next(replies, {"status": "bad_return"}), {}), lang)
    text = " ".join(" ".join(found.lines).split())
    assert words[1] in text and words[2] in text, text
    generic = t("label_returns", lang)
    assert generic in found.mistakes
    if lang == "cs":
        assert "returned" not in text and "expected" not in text


def test_a_forged_code_or_verdict_from_the_sandbox_says_nothing_new():
    """Unknown codes get the generic words; a reply cannot claim the grader's own verdicts (died, log, worded)."""
    replies = iter([{"status": "bad_return", "code": "{__class__}", "fields": {"type": "x" * 500}},
                    {"status": "ok", "outputs": [{"problem": "none; HACKED", "type": "x" * 500}]},
                    {"status": "error", "message": "all fine", "died": "crashed", "log": "forged", "worded": True}])
    found = _fake_grade("conv2d_forward", lambda meta: (next(replies, {"status": "bad_return", "code": "none"}), {}),
                        "cs")
    text = "\n".join(found.lines)
    assert "vrátila něco nečekaného" in text and "HACKED" not in text and "x" * 81 not in text
    assert "vyvolala all fine" in text and "forged" not in " ".join(found.problems)


@pytest.mark.parametrize("lang", ["en", "cs"])
def test_crashes_and_hangs_reported_by_the_channel_are_told_in_the_assignments_language(lang):
    from cnncourse.grading.sandbox import Limits
    from cnncourse.grading.session import ContextDied, describe_exit

    deaths = iter([ContextDied("crashed", describe_exit(-11, Limits())),
                   ContextDied("crashed", describe_exit(3, Limits())),
                   ContextDied("bad_reply", describe_exit(None, Limits()))])

    def call(meta):
        exc = next(deaths, None)
        if exc is not None:
            raise exc
        return {"status": "error", "message": "ValueError: no"}, {}

    found = _fake_grade("conv_output_size", call, lang)
    text = " ".join(" ".join(found.lines).split())
    words = {"en": ["the process running your code crashed (segmentation fault)",
                    "the process running your code exited (exit code 3)"],
             "cs": ["proces, ve kterém běžel váš kód, spadl (segmentation fault)",
                    "proces, ve kterém běžel váš kód, skončil (návratový kód 3)"]}[lang]
    assert all(w in text for w in words), text
    assert "raised the process" not in text and "vyvolala proces" not in text
    if lang == "cs":
        assert "process running" not in text
    assert t("label_crashed", lang) in found.mistakes
    assert found.problems[0].startswith("3 cases crashed: the process running your code")   # the report: English


@pytest.mark.parametrize("lang", ["en", "cs"])
def test_missing_and_forbidden_functions_are_labelled_in_the_assignments_language(lang):
    from cnncourse.grading.messages import Text
    found = _fake_grade("conv2d_forward", lambda meta: ({"status": "missing"}, {}), lang,
                        cell_errors={"conv2d_forward": Text("cell_timeout", seconds=20)})
    assert found.mistakes == [t("label_not_defined", lang)]
    assert t("cell_timeout", lang, seconds=20) in "\n".join(found.lines)
    found = _fake_grade("conv2d_forward", lambda meta: (
        {"status": "error", "message": "ModuleNotFoundError: No module named 'torch' [module torch]"}, {}), lang)
    assert found.fraction == 0 and found.mistakes == [t("label_forbidden", lang)]
    if lang == "cs":
        assert found.mistakes == ["používá knihovnu, která práci udělá za ni (cnncore, torch, SciPy, ...)"]


def test_the_release_placeholders_are_in_the_editions_language():
    """nbgrader's ClearSolutions, as cnncourse configures it, writes the Czech edition's stubs in Czech."""
    pytest.importorskip("nbgrader")
    import nbformat
    from traitlets.config import Config
    from cnncourse.grading.autograde import configure
    from cnncourse.release import EditionClearSolutions

    c = configure(Config())
    assert EditionClearSolutions in c.GenerateAssignment.preprocessors
    assert not any(p.__name__ == "ClearSolutions" for p in c.GenerateAssignment.preprocessors)
    for assignment in ("conv2d", "conv2d_cs"):
        nb = nbformat.read(build.notebook_path(assignment), as_version=4)
        nb, _ = EditionClearSolutions().preprocess(nb, {"nbgrader": {"assignment": assignment}})
        solutions = [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("solution")]
        code = [cell.source for cell in solutions if cell.cell_type == "code"]
        text = [cell.source for cell in solutions if cell.cell_type == "markdown"]
        assert code and text
        if assignment.endswith("_cs"):
            assert all("# SEM NAPIŠTE SVŮJ KÓD\n    raise NotImplementedError()" in s for s in code), code
            assert text == ["SEM NAPIŠTE SVOU ODPOVĚĎ"] * len(text)
            assert not any("YOUR" in s for s in code + text)
        else:
            assert all("# YOUR CODE HERE\n    raise NotImplementedError()" in s for s in code), code
            assert text == ["YOUR ANSWER HERE"] * len(text)
