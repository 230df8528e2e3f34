"""Command line: ``python -m risk {train,score,cohort}``; see ``docs/risk.md``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import numpy as np

from risk import csvio
from risk.cohort import generate_cohort
from risk.explain import score_table
from risk.features import landmark_time
from risk.models import load_model, save_model, train_risk_model


def _parse_at(text: str) -> int:
    """Return landmark seconds for an ISO date (midnight) or datetime."""
    if "T" in text or " " in text:
        return landmark_time(datetime.fromisoformat(text))
    return landmark_time(date.fromisoformat(text))


def _train(args: argparse.Namespace) -> int:
    persons = csvio.read_persons(args.persons)
    table = csvio.read_observations(args.observations, [p.person_id for p in persons])
    outcomes = csvio.read_outcomes(args.outcomes)
    start = time.perf_counter()
    model = train_risk_model(
        persons, table, outcomes, random_state=args.seed, synthetic=args.synthetic
    )
    out = save_model(model, args.out)
    sel = model.metadata["selection"]
    print(
        f"trained on {model.metadata['n_persons']} persons, "
        f"{model.metadata['n_landmarks']} landmarks in {time.perf_counter() - start:.1f} s; "
        f"fall: {sel['fall']['chosen']}, decline: {sel['decline']['chosen']}; wrote {out}"
    )
    return 0


def _score(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    persons = csvio.read_persons(args.persons)
    table = csvio.read_observations(args.observations, [p.person_id for p in persons])
    at = _parse_at(args.at)
    person = np.arange(len(persons), dtype=np.int64)
    scores = score_table(
        model, persons, table, person, np.full(len(persons), at, dtype=np.int64),
        n_reasons=args.reasons,
    )
    csvio.write_scores(args.out, scores)
    print(f"scored {len(scores)} persons at {args.at}; wrote {args.out}")
    return 0


def _cohort(args: argparse.Namespace) -> int:
    cohort = generate_cohort(args.persons, n_days=args.days, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    csvio.write_persons(out / "persons.csv", cohort.persons)
    csvio.write_observations(out / "observations.csv", cohort.observations, cohort.notes)
    csvio.write_outcomes(out / "outcomes.csv", cohort.outcomes)
    print(
        f"SYNTHETIC cohort: {len(cohort.persons)} persons, {len(cohort.observations)} "
        f"observations, {len(cohort.outcomes)} outcomes over {args.days} days; wrote {out}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m risk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train fall and decline models from CSV files")
    p.add_argument("--persons", required=True)
    p.add_argument("--observations", required=True)
    p.add_argument("--outcomes", required=True)
    p.add_argument("--out", required=True, help="artefact directory to write")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--synthetic", action="store_true", help="mark the artefact as synthetic")
    p.set_defaults(func=_train)

    p = sub.add_parser("score", help="score persons at a date from observations before it")
    p.add_argument("--model", required=True)
    p.add_argument("--persons", required=True)
    p.add_argument("--observations", required=True)
    p.add_argument("--at", required=True, help="ISO date (midnight) or datetime")
    p.add_argument("--out", required=True)
    p.add_argument("--reasons", type=int, default=3)
    p.set_defaults(func=_score)

    p = sub.add_parser("cohort", help="write a synthetic cohort as CSV files")
    p.add_argument("--persons", type=int, default=1000)
    p.add_argument("--days", type=int, default=548)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cohort)

    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
