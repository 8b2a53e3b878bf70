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
