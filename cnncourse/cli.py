"""The `cnncourse` command: build, check, hand out and demonstrate the course.

    cnncourse build                 # assignments/src + solutions/ -> source/*/*.ipynb
    cnncourse check                 # fail if the committed notebooks are stale
    cnncourse handout ASSIGNMENT [--wheel FILE ...]
                                    # handout/ASSIGNMENT/: the released notebook, install notes
                                    # and the cnncore wheels to install (python -m build --wheel)
    cnncourse autograde ASSIGNMENT [--workers N] [--scheduler tcp://HOST:8786] [--force]
                                    # grade the class in parallel; report in reports/ASSIGNMENT/
    cnncourse demo [--keep DIR] [--lang cs]
                                    # release and grade the bundled sample class in the sandbox,
                                    # in the English or the Czech edition (conv2d_cs, ...)

Run it in the course root (the folder with nbgrader_config.py), like
nbgrader, or in the repository (then ./assignments is the course root).
"""
import argparse
import os
import shutil
import sys

# The handout's README in each edition's language (conv2d: English, conv2d_cs: Czech); the placeholders
# it names are the release's own (the catalogue's stub_code and stub_answer, see cnncourse.release).
HANDOUT_README = {
    "en": """\
# {assignment}: how to work on it

1. {install}

2. Open the notebook: `jupyter lab {notebook}`.
3. Write each function where it says `{code_stub}` (and delete the
   `raise NotImplementedError()` below it), with NumPy only, keeping its name
   and signature. Run the visible tests below each exercise until they print
   `visible tests passed`.
4. Answer the written questions in the cells that say `{text_stub}`.
5. Restart the kernel, run all cells, save, and hand in `{notebook}`.

Your notebook is graded in a sandbox where `cnncore`, `torch` and SciPy are
not available: the functions you hand in must do their own work. The hidden
tests call them on many generated cases and tell you which failed and why.
""",
    "cs": """\
# {assignment}: jak na to

1. {install}

2. Otevřete notebook: `jupyter lab {notebook}`.
3. Každou funkci napište tam, kde stojí `{code_stub}` (a řádek
   `raise NotImplementedError()` pod tím smažte), jen s NumPy, a zachovejte
   její název a signaturu. Viditelné testy pod každým cvičením spouštějte,
   dokud nevypíšou `viditelné testy prošly`.
4. Na písemné otázky odpovězte v buňkách, kde stojí `{text_stub}`.
5. Restartujte jádro, spusťte všechny buňky, notebook uložte a odevzdejte
   `{notebook}`.

Váš notebook se hodnotí v izolovaném prostředí (sandboxu), kde `cnncore`,
`torch` ani SciPy nejsou k dispozici: odevzdané funkce musí všechnu práci
udělat samy. Skryté testy je zavolají na mnoha vygenerovaných případech a
řeknou vám, které z nich neprošly a proč.
""",
}


def course_root(path=None):
    """The course root: ``path``, else the cwd if it holds nbgrader_config.py, else ./assignments."""
    for d in ([path] if path else [os.getcwd(), os.path.join(os.getcwd(), "assignments")]):
        if d and os.path.exists(os.path.join(d, "nbgrader_config.py")):
            return os.path.abspath(d)
    raise SystemExit("cnncourse: no course here (no nbgrader_config.py in the current folder or in ./assignments); "
                     "use --course DIR")


# step 1 of the README: the wheels handed out with the notebook, or the ones the instructor gives
INSTALL_FROM_HANDOUT = {
    "en": """\
Install the reference library and Jupyter, in this folder (pip picks the
   wheel for your platform among {wheels}; no compiler needed):

       pip install --find-links . cnncore jupyterlab matplotlib

   (or `pip install cnncore jupyterlab matplotlib` once cnncore is on PyPI).""",
    "cs": """\
Nainstalujte referenční knihovnu a Jupyter, a to v této složce (pip si
   mezi soubory {wheels} vybere wheel pro vaši platformu, překladač není
   potřeba):

       pip install --find-links . cnncore jupyterlab matplotlib

   (nebo `pip install cnncore jupyterlab matplotlib`, až bude cnncore na PyPI).""",
}
INSTALL_FROM_INSTRUCTOR = {
    "en": """\
Install the reference library from the wheel your instructor hands out for
   your platform (no compiler needed), never from a clone of the course
   repository, and Jupyter:

       pip install cnncore-<version>-<platform>.whl jupyterlab matplotlib

   (or `pip install cnncore jupyterlab matplotlib` once cnncore is on PyPI).""",
    "cs": """\
Nainstalujte referenční knihovnu ze souboru wheel, který vyučující rozdá pro
   vaši platformu (překladač není potřeba), nikdy ne z klonu repozitáře
   kurzu, a k ní Jupyter:

       pip install cnncore-<verze>-<platforma>.whl jupyterlab matplotlib

   (nebo `pip install cnncore jupyterlab matplotlib`, až bude cnncore na PyPI).""",
}


def handout_readme(assignment, notebook, wheels=()):
    """The handout's README.md for ``assignment``, in its edition's language."""
    from .grading.messages import language_of, t
    lang = language_of(assignment)
    names = ", ".join(f"`{os.path.basename(w)}`" for w in wheels)
    install = INSTALL_FROM_HANDOUT[lang].format(wheels=names) if wheels else INSTALL_FROM_INSTRUCTOR[lang]
    code_stub = t("stub_code", lang).splitlines()[0]
    return HANDOUT_README[lang].format(assignment=assignment, install=install, notebook=notebook,
                                       code_stub=code_stub, text_stub=t("stub_answer", lang))


def handout(course, assignment, out=None, wheels=()):
    """Write ``handout/<assignment>/``: the released notebook (nbgrader generate_assignment), a
    README and copies of ``wheels`` (cnncore wheels, one per platform the class uses)."""
    for wheel in wheels:
        if not (os.path.isfile(wheel) and os.path.basename(wheel).startswith("cnncore-")
                and wheel.endswith(".whl")):
            raise SystemExit(f"cnncourse handout: --wheel must be a cnncore wheel file "
                             f"(cnncore-*.whl). Received: {wheel!r}")
    from . import demo
    if not os.path.isdir(os.path.join(course, "source", assignment)):
        raise SystemExit(f"cnncourse handout: no assignment {assignment!r} in {course}/source")
    demo.generate(course, assignment)
    release = os.path.join(course, "release", assignment)
    dest = os.path.abspath(out or os.path.join(course, "handout", assignment))
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(release, dest)
    notebooks = sorted(n for n in os.listdir(dest) if n.endswith(".ipynb"))
    for wheel in wheels:
        shutil.copy(wheel, dest)
    with open(os.path.join(dest, "README.md"), "w", encoding="utf-8") as f:
        f.write(handout_readme(assignment, notebooks[0] if notebooks else f"{assignment}.ipynb", wheels))
    return dest


def autograde_command(course, args):
    from .parallel import autograde
    if args.workers is not None and args.workers < 1:
        raise SystemExit("cnncourse autograde: --workers must be at least 1")
    if not os.path.isdir(os.path.join(course, "submitted")):
        raise SystemExit(f"cnncourse autograde: no submitted/ folder in {course}")
    summary = autograde(course, args.assignment, workers=args.workers, scheduler=args.scheduler,
                        force=args.force, config_flags=args.config_flags)
    print(f"{args.assignment}: {len(summary['graded'])} graded, {summary['skipped']} already graded, "
          f"{len(summary['failed'])} failed, in {summary['seconds']:.1f} s")
    for student, reason in sorted(summary["failed"].items()):
        print(f"  not graded: {student}: {reason}")
    print(f"class report: {summary['report']}")
    return 1 if summary["failed"] else 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="cnncourse", description=__doc__.splitlines()[0])
    p.add_argument("--course", metavar="DIR", help="the course root (default: . or ./assignments)")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="write source/*/*.ipynb from assignments/src and solutions/")
    sub.add_parser("check", help="fail if the committed notebooks are stale")
    h = sub.add_parser("handout", help="write the student handout of an assignment")
    h.add_argument("assignment")
    h.add_argument("--out", metavar="DIR", help="default: <course>/handout/ASSIGNMENT")
    h.add_argument("--wheel", action="append", default=[], metavar="FILE",
                   help="a cnncore wheel to put in the handout (repeat for each platform)")
    a = sub.add_parser("autograde", help="autograde every submission of an assignment in parallel, "
                                         "each in its own sandbox, into nbgrader's gradebook")
    a.add_argument("assignment")
    a.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local grading processes (default: the cores this process may use)")
    a.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on a Dask cluster, e.g. tcp://HOST:8786, instead of local processes")
    a.add_argument("--force", action="store_true", help="grade again what is graded already")
    a.epilog = ("nbgrader's own flags of the form --Class.trait=value (e.g. --SandboxedGrading.case_timeout=2) "
                "are passed on, as `nbgrader autograde` takes them.")
    d = sub.add_parser("demo", help="release and grade the bundled sample class")
    d.add_argument("--keep", metavar="DIR", help="course copy to use and keep (default: a temporary folder)")
    d.add_argument("--assignments", nargs="*", default=None)
    d.add_argument("--lang", choices=["en", "cs"], default="en",
                   help="the edition to grade: en (conv2d, ...) or cs (conv2d_cs, ...; Czech text and feedback)")
    args, extra = p.parse_known_args(argv)
    config_flags = [e for e in extra if e.startswith("--") and "." in e.split("=", 1)[0]]
    if args.cmd != "autograde" or len(config_flags) != len(extra):
        p.parse_args(argv)          # the usual error for what is not an nbgrader --Class.trait=value flag
    args.config_flags = config_flags

    from . import build
    if args.cmd == "build":
        return build.build()
    if args.cmd == "check":
        stale = build.stale_notebooks()
        if stale:
            print("stale (run `cnncourse build`): " + ", ".join(stale))
            return 1
        print("source notebooks are up to date")
        return 0
    if args.cmd == "handout":
        dest = handout(course_root(args.course), args.assignment, args.out, args.wheel)
        print(f"handout: {dest}")
        return 0
    if args.cmd == "autograde":
        return autograde_command(course_root(args.course), args)
    if args.cmd == "demo":
        from . import demo
        return demo.demo(keep=args.keep, assignments=args.assignments, source=course_root(args.course),
                         lang=args.lang)
    return 2


if __name__ == "__main__":
    sys.exit(main())
