"""The half of the grader that runs in a clean interpreter.

Started by :mod:`cnncore.grading.runner` as ``python -I -m cnncore.grading.worker
CHECK SEED``.  It generates the cases of one check, computes the expected
results with the compiled cnncore, sends the inputs to the notebook kernel,
receives the student's outputs (plain float64 arrays in ``.npz`` bytes,
loaded with ``allow_pickle=False``), judges them, and answers with a JSON
report: the fraction of cases passed and the lines of feedback.

Nothing from the student's kernel is imported or unpickled here, so patched
modules, replaced cnncore functions or objects that compare equal to
anything cannot change the verdict.
"""
import json
import os
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -I -m cnncore.grading.worker CHECK SEED", file=sys.stderr)
        return 2
    name, seed = argv[0], int(argv[1])

    # Keep the protocol channel to ourselves: anything printed by imported
    # code (Python or C level) goes to stderr instead of fd 1.
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    proto_in = sys.stdin.buffer

    from .runner import _recv, _send, pack, unpack
    from .checks import CHECKS, judge_all

    if name not in CHECKS:
        print(f"unknown check {name!r}", file=sys.stderr)
        return 2
    chk = CHECKS[name]
    cases = chk.make_cases(seed)
    meta = {
        "function": chk.function,
        "forbidden": list(chk.forbidden),
        "n_outputs": chk.n_outputs,
        "output": chk.output,
        "cases": [c.wire() for c in cases],
    }
    arrays = {}
    for i, c in enumerate(cases):
        for k, a in c.arrays.items():
            arrays[f"{i}/{k}"] = a
    _send(proto_out, pack(meta, arrays))

    reply_meta, reply_arrays = unpack(_recv(proto_in))
    report = judge_all(chk, cases, reply_meta["results"], reply_arrays)
    _send(proto_out, json.dumps(report).encode("utf-8"))
    proto_out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
