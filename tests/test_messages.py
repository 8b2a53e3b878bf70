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
