"""What the sandbox costs: `nbgrader autograde` per submission, sandboxed and not, side by side.

    python benchmarks/bench_grading.py [--students 8] [--assignments conv2d batchnorm vgg19] [--repeat 3]

A synthetic class of copies of the worked solution is graded with the real
`nbgrader autograde`, once with the sandbox (the course's configuration) and
once with `--SandboxedGrading.unsafe_no_sandbox=True` (the same student
context without bubblewrap), alternating, `--repeat` times; the median
seconds per submission are printed as Markdown with the CPU's name.  One
submission's time includes nbgrader's own start-up divided over the class.
"""
import argparse
import os
import statistics
import tempfile
import time

from cnncore._isa import cpu_name
from cnncourse import demo


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=8)
    p.add_argument("--assignments", nargs="*", default=["conv2d", "batchnorm", "vgg19"])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    os.environ.setdefault("CNNCOURSE_SECRET", "benchmark")
    course = demo.copy_course(tempfile.mkdtemp(prefix="cnncourse-bench-"))
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; {args.students} submissions of the worked solution, "
          f"median of {args.repeat}\n")
    print("| assignment | sandboxed s/submission | unsandboxed s/submission | sandbox cost |")
    print("|---|---:|---:|---:|")
    for a in args.assignments:
        demo.generate(course, a)
        for i in range(args.students):
            demo.submit(course, a, f"s{i:03d}", [])
        times = {"sandbox": [], "none": []}
        for _ in range(args.repeat):
            for mode, extra in (("sandbox", []), ("none", ["--SandboxedGrading.unsafe_no_sandbox=True"])):
                t0 = time.monotonic()
                demo.autograde(course, a, *extra)
                times[mode].append((time.monotonic() - t0) / args.students)
        s, n = statistics.median(times["sandbox"]), statistics.median(times["none"])
        print(f"| {a} | {s:.2f} | {n:.2f} | {s - n:+.2f} s ({s / n:.2f}x) |")


if __name__ == "__main__":
    main()
