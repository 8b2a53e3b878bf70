"""The class report (cnncourse.report.render) on a small synthetic class."""
import copy
import csv
import html
import os
import re
import struct
from html.parser import HTMLParser

import pytest

from cnncourse.report import render

PNG = b"\x89PNG\r\n\x1a\n"
HOSTILE = '<script>alert("x")</script> "&amp; costs $x$'
HOSTILE_ID = '<img src=x onerror=alert(1)>'


def _student(sid, auto, manual=None, seconds=1.0, auto_max=8.0, manual_max=10.0):
    return {"student": sid, "status": "graded", "reason": None, "autograded": auto,
            "autograded_max": auto_max, "manual": manual, "manual_max": manual_max, "seconds": seconds}


def class_data():
    """8 students (7 graded, 1 failed), 2 exercises: one with mistakes, one without and all scores equal."""
    forward = {"ada": 5.0, "ben": 0.0, "cara": 2.5, "dan": 2.5, "eve": 0.0, "kim": 1.0, "max": 0.0}
    return {
        "assignment": "conv2d",
        "exercises": [
            {"check": "conv2d_forward", "grade_id": "conv2d_forward_tests", "points": 5.0,
             "scores": forward,
             "mistakes": {"the kernel is flipped": ["cara", "dan"],
                          HOSTILE: ["ben", "eve", "max"],
                          "zero padding missing": ["ben", "dan"],
                          "ran out of time": ["kim"]},
             "problems": {"kim": "3 cases ran out of time", "max": "crashed: killed by SIGSEGV"}},
            {"check": "maxpool_backward", "grade_id": "maxpool_backward_tests", "points": 3.0,
             "scores": {sid: 3.0 for sid in forward}, "mistakes": {}, "problems": {}},
        ],
        "students": [
            _student("ada", 8.0, manual=9.5, seconds=1.25),
            _student("ben", 3.0, seconds=2.0),
            _student("cara", 5.5, manual=0.0, seconds=1.5),
            _student("dan", 5.5, seconds=None),
            _student("eve", 3.0, seconds=0.75),
            _student("kim", 4.0, seconds=30.5),
            _student("max", 3.0, seconds=3.0),
            {"student": "zed", "status": "failed", "reason": "not a notebook: <oops> & \"more\"",
             "autograded": None, "autograded_max": None, "manual": None, "manual_max": 10.0,
             "seconds": None},
        ],
        "run": {"workers": 2, "scheduler": None, "seconds": 31.2, "graded": 6, "skipped": 1, "failed": 1},
    }


def empty_data():
    return {
        "assignment": "conv2d",
        "exercises": [{"check": "conv2d_forward", "grade_id": "g", "points": 5.0,
                       "scores": {}, "mistakes": {}, "problems": {}}],
        "students": [],
        "run": {"workers": 1, "scheduler": "tcp://host:8786", "seconds": 0.5,
                "graded": 0, "skipped": 0, "failed": 0},
    }


class _Page(HTMLParser):
    """The <img src>, <a href>, <script> tags and the text of a page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.imgs, self.links, self.tags, self.text = [], [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "img":
            self.imgs.append(attrs["src"])
        if tag == "a":
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _page(index):
    with open(index, encoding="utf-8") as f:
        text = f.read()
    return text, _Page(text)


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head.startswith(PNG), path
    return struct.unpack(">II", head[16:24])


def _assert_images_consistent(out_dir, page):
    """Every <img> is a relative path to a PNG written there, and every PNG written is shown."""
    for src in page.imgs:
        assert "/" not in src and ":" not in src, src
        _png_size(os.path.join(out_dir, src))
    pngs = {f for f in os.listdir(out_dir) if f.endswith(".png")}
    assert pngs == set(page.imgs)
    assert len(page.imgs) == len(set(page.imgs))
    return pngs


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "nested" / "conv2d"   # created by render
    index = render(str(out), class_data())
    return str(out), index


def test_returns_index_and_writes_files(report):
    out, index = report
    assert index == os.path.join(out, "index.html")
    assert {"index.html", "mistakes.csv", "grades.csv"} <= set(os.listdir(out))


def test_mistakes_csv(report):
    out, _ = report
    rows = _read_csv(os.path.join(out, "mistakes.csv"))
    assert rows == [
        ["exercise", "mistake", "students", "of", "student_ids"],
        ["conv2d_forward", HOSTILE, "3", "7", "ben eve max"],          # most frequent first
        ["conv2d_forward", "the kernel is flipped", "2", "7", "cara dan"],   # ties by label
        ["conv2d_forward", "zero padding missing", "2", "7", "ben dan"],
        ["conv2d_forward", "ran out of time", "1", "7", "kim"],
    ]                                                                   # maxpool_backward: no mistakes


def test_grades_csv(report):
    out, _ = report
    rows = _read_csv(os.path.join(out, "grades.csv"))
    assert rows[0] == ["student", "status", "autograded", "autograded_max", "manual", "manual_max",
                       "total", "max", "to_grade_by_hand"]
    by_id = {r[0]: r for r in rows[1:]}
    assert [r[0] for r in rows[1:]] == ["ada", "ben", "cara", "dan", "eve", "kim", "max", "zed"]
    assert by_id["ada"] == ["ada", "graded", "8", "8", "9.5", "10", "17.5", "18", "no"]
    assert by_id["ben"] == ["ben", "graded", "3", "8", "", "10", "3", "18", "yes"]
    assert by_id["cara"] == ["cara", "graded", "5.5", "8", "0", "10", "5.5", "18", "no"]   # graded 0 by hand
    assert by_id["zed"] == ["zed", "failed", "", "", "", "10", "", "", "yes"]


def test_no_manual_points_means_nothing_to_grade_by_hand(tmp_path):
    data = class_data()
    data["students"] = [_student("ada", 8.0, manual=None, manual_max=0.0)]
    rows = _read_csv(render(str(tmp_path), data).replace("index.html", "grades.csv"))
    assert rows[1] == ["ada", "graded", "8", "8", "", "0", "8", "8", "no"]


def test_images_exist_and_are_all_referenced(report):
    out, index = report
    _, page = _page(index)
    pngs = _assert_images_consistent(out, page)
    assert pngs == {"scores_conv2d_forward.png", "scores_maxpool_backward.png",
                    "mistakes_conv2d_forward.png", "total.png", "times.png"}
    assert _png_size(os.path.join(out, "scores_conv2d_forward.png")) == (600, 320)   # fixed size, dpi 100


def test_html_content(report):
    out, index = report
    text, page = _page(index)
    assert text.startswith("<!DOCTYPE html>")
    assert "script" not in page.tags and "link" not in page.tags
    shown = " ".join(page.text)
    for expected in ["conv2d", "local processes", "31.2 s", "2 of 7", "3 of 7", "1 of 7",
                     "3 cases ran out of time", "crashed: killed by SIGSEGV",
                     "not a notebook: <oops> & \"more\"",      # the failed submission's reason
                     "mean 6.50, max 30.50",                  # seconds per submission (6 known)
                     "not graded yet"]:
        assert expected in shown, expected
    assert sorted(l for l in page.links) == ["grades.csv", "mistakes.csv"]
    for link in page.links:
        assert os.path.exists(os.path.join(out, link))


def test_html_escapes_untrusted_text(tmp_path):
    data = class_data()
    for ex in data["exercises"]:
        ex["scores"][HOSTILE_ID] = 0.0
    data["exercises"][0]["mistakes"][HOSTILE].append(HOSTILE_ID)
    data["exercises"][0]["problems"][HOSTILE_ID] = '<b>crashed</b> "&'
    data["students"].append(_student(HOSTILE_ID, 0.0))
    out = tmp_path / "r"
    text, page = _page(render(str(out), data))
    assert "<script>" not in text and "<img src=x" not in text and "<b>crashed" not in text
    assert html.escape(HOSTILE) in text
    assert "script" not in page.tags
    shown = " ".join(page.text)
    assert HOSTILE in shown and HOSTILE_ID in shown and '<b>crashed</b> "&' in shown
    _assert_images_consistent(str(out), page)            # the hostile id added no <img>
    mistakes = _read_csv(out / "mistakes.csv")
    assert mistakes[1][1:4] == [HOSTILE, "4", "8"] and mistakes[1][4].endswith(" " + HOSTILE_ID)
    assert [r[0] for r in _read_csv(out / "grades.csv")][-1] == HOSTILE_ID


def test_file_names_from_check_names_are_safe(tmp_path):
    data = class_data()
    data["exercises"][0]["check"] = "../conv 2d.forward"
    data["exercises"][1]["check"] = "___conv_2d_forward"      # the same safe name: must not collide
    data["exercises"][1]["mistakes"] = {"x": ["ada"]}
    _, page = _page(render(str(tmp_path), data))
    names = set(os.listdir(tmp_path))
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+", n) for n in names)
    assert {"scores____conv_2d_forward.png", "scores____conv_2d_forward_2.png",
            "mistakes____conv_2d_forward.png", "mistakes____conv_2d_forward_2.png"} <= names
    _assert_images_consistent(str(tmp_path), page)
    assert _read_csv(tmp_path / "mistakes.csv")[1][0] == "../conv 2d.forward"   # CSV keeps the name


def test_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    render(str(a), class_data())
    render(str(b), copy.deepcopy(class_data()))
    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b))
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_empty_class(tmp_path):
    index = render(str(tmp_path), empty_data())
    text, page = _page(index)
    assert _read_csv(tmp_path / "mistakes.csv") == [["exercise", "mistake", "students", "of", "student_ids"]]
    assert len(_read_csv(tmp_path / "grades.csv")) == 1
    pngs = _assert_images_consistent(str(tmp_path), page)
    assert pngs == {"scores_conv2d_forward.png", "total.png"}          # no times, no mistakes
    shown = " ".join(page.text)
    assert "tcp://host:8786" in shown and "local processes" not in shown


def test_no_exercises_and_all_equal_scores(tmp_path):
    data = class_data()
    data["exercises"] = data["exercises"][1:]                          # every score 3.0 of 3
    for s in data["students"]:
        s["seconds"] = 2.0 if s["status"] == "graded" else None        # all times equal too
        if s["status"] == "graded":
            s["autograded"] = 3.0
    _, page = _page(render(str(tmp_path / "equal"), data))
    assert "times.png" in _assert_images_consistent(str(tmp_path / "equal"), page)
    assert "3.00" in " ".join(page.text)                               # the mean
    data["exercises"] = []
    _, page = _page(render(str(tmp_path / "none"), data))
    assert _assert_images_consistent(str(tmp_path / "none"), page) == {"total.png", "times.png"}
