"""Run every benchmarks/bench_*.py module and print one table (medians and ratios)."""
import argparse
import importlib
import json
import math
import pkgutil
import sys
from pathlib import Path

import benchmarks


def discover(selected):
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    return [n for n in names if not selected or any(s in n for s in selected)]


def format_table(rows):
    header = ("benchmark", "median", "baseline", "baseline median", "ratio", "runs")
    lines = [header]
    for row in rows:
        value = f"{row.value:.4g} {row.unit}"
        base = f"{row.baseline_value:.4g} {row.unit}" if not math.isnan(row.baseline_value) else "-"
        ratio = f"{row.ratio:.3g}x" if not math.isnan(row.ratio) else "-"
        lines.append((row.name, value, row.baseline_name or "-", base, ratio, str(row.runs)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"- {row.name}: {row.note}" for row in rows if row.note]
    return "\n".join(out + ([""] + notes if notes else []))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="./course bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="run only bench modules whose name contains one of these")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median reported)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = []
    for name in discover(args.only):
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        rows.extend(module.run(args.repeats))
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps([{**r.__dict__, "ratio": r.ratio} for r in rows], indent=2))


if __name__ == "__main__":
    main()
