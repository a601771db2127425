"""Why lines of the tuning part are read wrong: each misread digit of a line, and whether the
serving model misreads the same MNIST test digit on its own pixels too.

    .venv/bin/python scripts/line_errors.py [--part tune] [--model ml/artifacts/<version>]

The lines are made again from their seed (ml/evalsets.py), read in number mode, and every
line cut into as many marks as it has digits is compared digit by digit with its label.
Figures: docs/BENCHMARKS.md, "What limits MNIST test".
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="tune", choices=["tune", "measure"])
    parser.add_argument("--lines", type=int, default=None, help="how many (default: the part's own count)")
    parser.add_argument("--seed", type=int, default=None, help="another seed: more lines of the same part's digits")
    parser.add_argument("--save", type=Path, default=None, help="write the wrong lines' images here")
    parser.add_argument("--model", default=None, help="an artifact folder (default: the shipped model, the newest in ml/artifacts)")
    args = parser.parse_args()
    os.chdir(ROOT)
    from ml import data, evalsets, synthetic
    from ml.artifact import newest
    from ml.inference import Engine

    model_dir = Path(args.model) if args.model else newest(ROOT / "ml" / "artifacts")
    mnist = data.load(ROOT / "var" / "mnist")
    part_idx = evalsets.source_indices(args.part)
    x, y = mnist.x_test[part_idx], mnist.y_test[part_idx]
    sources: list[list[int]] = []
    seed = evalsets.PARTS[args.part][2] + evalsets.SETS.index("lines") if args.seed is None else args.seed
    count = evalsets.COUNTS[args.part]["lines"] if args.lines is None else args.lines
    lines = synthetic.digit_lines(x, y, count, seed=seed, sources=sources)
    engine = Engine(model_dir)
    read = engine.recognize_many([line.data for line in lines], mode="number")
    raw = engine.probabilities(x).argmax(axis=1)  # the same digits, MNIST's own pixels

    causes: Counter = Counter()
    wrong_lines, per_source = 0, Counter()
    for k, (line, result, picks) in enumerate(zip(lines, read, sources)):
        text = "" if isinstance(result, Exception) else result.text
        if text == line.label:
            continue
        wrong_lines += 1
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"line-{k}-{line.label}-read-{text or 'none'}.{line.extension}").write_bytes(line.data)
        if len(text) != len(line.label):
            causes["marks found: not as many as digits (or no answer)"] += 1
            print(f"line {k} ({line.label} read {text or type(result).__name__}): "
                  f"{len(getattr(result, 'digits', []))} digits and {len(getattr(result, 'left_out', []))} marks left out")
            continue
        for position, (got, want) in enumerate(zip(text, line.label)):
            if got != want:
                i = picks[position]
                per_source[i] += 1
                cause = "misread on MNIST's own pixels too" if raw[i] != int(want) else "misread only as drawn in the line"
                causes[cause] += 1
                print(f"line {k} ({line.label} read {text}): digit {position}, MNIST test #{part_idx[i]}, "
                      f"a {want} read {got}; on its own pixels {raw[i]}")
    hard = {i for i in range(len(x)) if raw[i] != y[i]}
    drawn = [i for picks in sources for i in picks]
    print(f"\n{wrong_lines} of {len(lines)} lines wrong ({model_dir.name}, {args.part} part)")
    for cause, n in causes.most_common():
        print(f"  {n:3d}  {cause}")
    print(f"digits the model misreads on MNIST's own pixels: {len(hard)} of the part's {len(x)}; "
          f"{sum(i in hard for i in drawn)} of the lines' {len(drawn)} digits are drawn from them")
    repeated = {int(part_idx[i]): n for i, n in per_source.items() if n > 1}
    if repeated:
        print(f"MNIST test digits misread in more than one line: {repeated}")


if __name__ == "__main__":
    main()
