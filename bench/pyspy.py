"""Summarize a py-spy profile: which functions the server's CPU went to.

    .venv/bin/python bench/pyspy.py bench/results/profile-r100.txt.gz [--top 25]

Reads py-spy's ``--format raw`` output (collapsed stacks: ``frame;frame;... count``;
gzipped or not, as https://www.speedscope.app also takes it once unzipped)
and prints, per function, its *self* share (samples where it was the innermost frame)
and its *total* share (samples where it was anywhere on the stack), plus the same
grouped by source file. Idle samples are not recorded by py-spy unless ``--idle``.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@dataclass
class Summary:
    samples: int
    self_by_func: Counter[str]
    total_by_func: Counter[str]
    self_by_file: Counter[str]

    def top(self, n: int) -> list[tuple[str, float, float]]:
        """The ``n`` functions with most total samples: (name, self %, total %)."""
        return [
            (name, 100 * self.self_by_func[name] / self.samples, 100 * count / self.samples)
            for name, count in self.total_by_func.most_common(n)
        ]

    def top_self(self, n: int) -> list[tuple[str, float]]:
        return [(name, 100 * c / self.samples) for name, c in self.self_by_func.most_common(n)]

    def top_files(self, n: int) -> list[tuple[str, float]]:
        return [(name, 100 * c / self.samples) for name, c in self.self_by_file.most_common(n)]


def _name(frame: str) -> tuple[str, str]:
    """``func (file:line)`` as ("func (file)", "file"): lines are merged."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), "?"
    file = _short(match["file"])
    return f"{match['func']} ({file})", file


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def summarize(text: str) -> Summary:
    self_by_func: Counter[str] = Counter()
    total_by_func: Counter[str] = Counter()
    self_by_file: Counter[str] = Counter()
    samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = [_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        leaf, leaf_file = frames[-1]
        self_by_func[leaf] += count
        self_by_file[leaf_file] += count
        for name in {name for name, _ in frames}:
            total_by_func[name] += count
    return Summary(samples, self_by_func, total_by_func, self_by_file)


def report(summary: Summary, n: int = 25) -> str:
    lines = [f"{summary.samples} samples", "", "self %  total %  function (inclusive, top)"]
    lines += [f"{s:6.1f}  {t:7.1f}  {name}" for name, s, t in summary.top(n)]
    lines += ["", "self %  function (innermost frame)"]
    lines += [f"{s:6.1f}  {name}" for name, s in summary.top_self(n)]
    lines += ["", "self %  file"]
    lines += [f"{s:6.1f}  {name}" for name, s in summary.top_files(n)]
    return "\n".join(lines)


def read(path: Path) -> str:
    """A profile's text, gunzipped if its name ends in .gz."""
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode()
    return path.read_text()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Summarize py-spy raw (collapsed) stacks.")
    parser.add_argument("raw", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    summary = summarize(read(args.raw))
    if not summary.samples:
        sys.exit(f"no samples in {args.raw}")
    print(report(summary, args.top))


if __name__ == "__main__":
    main()
