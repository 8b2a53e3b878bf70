"""Grading a class: `cnncourse autograde` with 1 and 2 workers against plain `nbgrader autograde`.

    python benchmarks/bench_autograde.py [--students 60] [--assignments conv2d batchnorm vgg19]
                                         [--workers 1 2] [--repeat 3] [--no-nbgrader]

A synthetic class of ``--students`` submissions, made by cycling through the
sample class's students of each assignment (the worked solution, the
untouched release, the typical mistakes), is graded with ``--force`` by
`cnncourse autograde` with each worker count and by `nbgrader autograde`
(one process), in turns, ``--repeat`` times; medians are printed as Markdown
with the CPU's name.  "core-s per submission" is wall time x workers /
submissions (what the class costs in cores); the breakdown says where a
worker's time on one submission goes (from the grading log), and the
writer's share is this process's sanitizing and writing.  Run it alone:
both cores are busy while it runs.  (Its imports are inside main(): the
grading workers, started with multiprocessing's "spawn", import this script.)
"""
import argparse
import json
import os
import statistics
import tempfile
import time

from cnncore._isa import cpu_name

STEPS = ["sandbox start", "notebook cells", "hidden cases", "reference"]


def make_class(course, assignment, n):
    from cnncourse import demo
    mod = demo.load_mistakes()
    sample = list(mod.SAMPLE_CLASS[assignment].items())
    demo.generate(course, assignment)
    for i in range(n):
        name, mistakes = sample[i % len(sample)]
        demo.submit(course, assignment, f"{name}{i:03d}", mistakes, mod.MISTAKES)


def log_breakdown(course, assignment, n):
    """Mean seconds per step of the last n graded submissions in the grading log."""
    path = os.path.join(course, "reports", assignment, "grading-log.jsonl")
    with open(path) as f:
        entries = [json.loads(line) for line in f][-n:]
    steps = {s: statistics.mean(e["timings"].get(s, 0.0) for e in entries) for s in STEPS}
    steps["worker total"] = statistics.mean(e["seconds"] for e in entries)
    return steps


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=60)
    p.add_argument("--assignments", nargs="*", default=["conv2d", "batchnorm", "vgg19"])
    p.add_argument("--workers", nargs="*", type=int, default=[1, 2])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-nbgrader", action="store_true", help="skip the plain nbgrader autograde baseline")
    args = p.parse_args()
    # imported here, not at the top: the grading workers start by importing this script
    from cnncourse import demo, parallel
    os.environ.setdefault("CNNCOURSE_SECRET", "benchmark")
    course = demo.copy_course(tempfile.mkdtemp(prefix="cnncourse-bench-"))
    n = args.students
    print(f"CPU: {cpu_name()}, {len(os.sched_getaffinity(0))} cores usable; {n} submissions per assignment "
          f"(the sample class, cycled), median of {args.repeat}\n")
    rows, breakdowns = [], []
    for a in args.assignments:
        make_class(course, a, n)
        walls = {w: [] for w in args.workers}
        writer = {w: [] for w in args.workers}
        steps = []
        baseline = []
        for _ in range(args.repeat):
            for w in args.workers:
                summary = parallel.autograde(course, a, workers=w, force=True, progress=False)
                assert len(summary["graded"]) == n and not summary["failed"], summary["failed"]
                walls[w].append(summary["seconds"])
                writer[w].append(summary["writer_seconds"] / n)
                if w == args.workers[0]:
                    steps.append(log_breakdown(course, a, n))
            if not args.no_nbgrader:
                t0 = time.monotonic()
                demo.autograde(course, a)
                baseline.append(time.monotonic() - t0)
        med = {w: statistics.median(walls[w]) for w in args.workers}
        w1 = args.workers[0]
        row = [a]
        if baseline:
            row.append(f"{statistics.median(baseline) / n:.2f}")
        for w in args.workers:
            row.append(f"{med[w]:.1f} s, {med[w] * w / n:.2f} core-s")
        for w in args.workers[1:]:
            row.append(f"{med[w1] / med[w] * w1:.2f}x")
        rows.append(row)
        mean_steps = {k: statistics.median(s[k] for s in steps) for k in steps[0]}
        breakdowns.append([a] + [f"{mean_steps[s]:.3f}" for s in STEPS + ["worker total"]]
                          + [f"{statistics.median(writer[w1]):.3f}"])

    head = ["assignment"] + (["nbgrader autograde, s/submission"] if not args.no_nbgrader else [])
    head += [f"{w} worker{'s' if w > 1 else ''}: wall, core-s/submission" for w in args.workers]
    head += [f"speed-up {args.workers[0]} -> {w}" for w in args.workers[1:]]
    print("| " + " | ".join(head) + " |")
    print("|---" * len(head) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nWhere one submission's time goes ({args.workers[0]} worker; seconds, means over the class):\n")
    head = ["assignment"] + STEPS + ["worker total", "writer (this process)"]
    print("| " + " | ".join(head) + " |")
    print("|---" * len(head) + "|")
    for row in breakdowns:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
