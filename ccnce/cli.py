"""The ``ccnce`` command: synth, inspect, separability, train, evaluate, reproduce, audit, sweep, baselines,
bench, study.

Known errors (:class:`~ccnce.errors.CcnceError`) become one line on stderr and exit code 2; the
compute lives in the package, this module only parses arguments and prints.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from ccnce.errors import CcnceError, ConfigError


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True, default=str))


# ---------------------------------------------------------------------------------------- commands
def _cmd_inspect(args: argparse.Namespace) -> int:
    from ccnce.data.inspect import format_summary, inspect_path

    summary = inspect_path(args.path, speaker=args.speaker)
    if args.json:
        _print_json(summary)
    else:
        print(format_summary(summary))
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from ccnce.config import SPEAKERS
    from ccnce.data.synth import generate, is_current, read_marker

    speakers = [s.strip() for s in args.speakers.split(",") if s.strip()]
    if args.reuse and is_current(read_marker(args.out), [s for s in SPEAKERS if s in speakers], args.size, args.seed):
        print(f"synthetic PATS-layout dataset in {args.out} is complete and current; reused")
        return 0
    summary = generate(args.out, speakers=speakers, size=args.size, seed=args.seed, progress=not args.quiet)
    print(f"synthetic PATS-layout dataset written to {summary['root']} "
          f"({summary['intervals']} intervals, {len(speakers)} speakers, {summary['seconds']:.1f} s)")
    print("NOTE: this data is SYNTHETIC (ccnce synth); results on it are not PATS results.")
    return 0


def _cmd_separability(args: argparse.Namespace) -> int:
    from ccnce.data.separability import format_separability, measure_separability

    result = measure_separability(args.data_root, speakers=args.speakers.split(",") if args.speakers else None)
    if args.json:
        _print_json(result)
    else:
        print(format_separability(result))
    return 0


def _overrides(pairs: list[str]) -> dict[str, object]:
    """``["epochs=3", "tau=0.2"]`` → typed values (Python literals; anything else stays a string)."""
    import ast

    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise CcnceError(f"--set {pair!r}: expected FIELD=VALUE, e.g. --set epochs=3")
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def _config(args: argparse.Namespace, **identity: object):
    from ccnce.config import Config

    return Config.from_profile(args.profile, data_root=args.data_root, results_dir=args.results_dir,
                               **identity, **_overrides(args.set))


def _cmd_train(args: argparse.Namespace) -> int:
    from ccnce import distributed
    from ccnce.train import train

    cfg = _config(args, speaker=args.speaker, variant=args.variant, seed=args.seed)
    try:
        result = train(cfg, progress=not args.quiet, force=args.force)
        main = distributed.is_main()
    finally:
        distributed.teardown()
    if not main:  # under torchrun rank 0 reports
        return 0
    state = "already complete" if result.skipped else "done"
    print(f"{state}: {result.directory}  (data: {result.data_source})")
    for key in ("l1", "fid", "pck", "f1", "knn_acc"):
        if key in result.metrics:
            print(f"  {key:<8} {result.metrics[key]:.4f}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ccnce.train import evaluate_dir

    metrics = evaluate_dir(args.run_dir, progress=not args.quiet, write=args.write)
    if args.json:
        _print_json(metrics)
    else:
        for key, value in sorted(metrics.items()):
            print(f"{key:<16} {value}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from ccnce.reproduce import reproduce

    result = reproduce(args.run_dir, scratch=args.scratch, progress=not args.quiet and not args.json,
                       certify=args.certify)
    if args.json:
        _print_json(result.to_json())
    else:
        print(result.format())
    return 0 if result.reproduced else 1


def _cmd_audit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ccnce.audit import audit

    if not Path(args.results_dir).is_dir():
        raise CcnceError(f"{args.results_dir}: no such results folder")
    result = audit(args.results_dir)
    if args.json:
        _print_json(result.to_json())
    else:
        print(result.format())
    return 1 if result.stale else 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from ccnce.data.source import resolve_data
    from ccnce.sweep import plan, summary_table, sweep

    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    configs = plan(split(args.speakers), split(args.variants), [int(k) for k in split(args.seeds)], args.profile,
                   shard=args.shard, data_root=args.data_root, results_dir=args.results_dir, **_overrides(args.set))
    source = resolve_data(args.data_root, progress=not args.quiet)  # generate synthetic data once, up front
    if args.launcher == "inprocess":
        outcomes = sweep(configs, source.name, jobs=args.jobs, progress=not args.quiet,
                         data_fingerprint=source.fingerprint)
    else:
        from ccnce.launchers import submit

        outcomes = submit(configs, source.name, args.launcher, args.submitit_dir,
                          data_fingerprint=source.fingerprint, partition=args.partition,
                          gpus_per_run=args.gpus_per_run, time_min=args.time_min, cpus_per_run=args.cpus_per_run,
                          parallel=args.jobs)
    print(summary_table(outcomes))
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def _cmd_baselines(args: argparse.Namespace) -> int:
    from ccnce.baselines import write_baselines

    split = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    seeds = tuple(int(k) for k in split(args.seeds))
    for speaker in split(args.speakers):
        cfg = _config(args, speaker=speaker, variant="none", seed=seeds[0])
        print(f"wrote {write_baselines(cfg, seeds, progress=not args.quiet)}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    import inspect

    module = importlib.import_module(f"ccnce.bench.{args.name}")
    options = {k: getattr(args, k) for k in ("device", "profile") if getattr(args, k) is not None}
    if args.set:
        options["overrides"] = _overrides(args.set)
    unsupported = sorted(set(options) - set(inspect.signature(module.run).parameters))
    if unsupported:
        raise CcnceError(f"bench {args.name} has no option {', '.join('--' + k for k in unsupported)}")
    result = module.run(quick=args.quick, **options)
    if args.json:
        _print_json(result)
    else:
        print(module.format_result(result))
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    progress = not args.quiet and not args.json
    if args.name == "probes":
        from ccnce.probes import format_probes, probe_speaker

        if args.set:
            raise ConfigError("ccnce study probes takes no --set: the probes score true motion, not a config")
        result, text = probe_speaker(args.speaker, data_root=args.data_root, profile=args.profile,
                                     progress=progress), format_probes
    else:
        from ccnce.study import format_study, study_clustering

        result, text = study_clustering(args.speaker, data_root=args.data_root, profile=args.profile,
                                        seed=args.seed, progress=progress, **_overrides(args.set)), format_study
    if args.json:
        _print_json(result)
    else:
        print(text(result))
    return 0


# ---------------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from ccnce.config import SPEAKERS

    parser = argparse.ArgumentParser(prog="ccnce", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("inspect", help="summarise a PATS interval file or dataset root")
    p.add_argument("path", help="an interval .h5 file or a PATS-layout root")
    p.add_argument("--speaker", default=None, help="only this speaker (for a root)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser("synth", help="write the synthetic PATS-layout dataset (the embedded default)")
    p.add_argument("--out", required=True, help="output root folder")
    p.add_argument("--speakers", default=",".join(SPEAKERS), help="comma-separated speaker names")
    p.add_argument("--size", choices=("small", "default"), default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--reuse", action="store_true",
                   help="keep OUT if it already holds a complete output of this generator version, seed and size")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("separability", help="measure how well the μ+σ threshold separates true gestures")
    p.add_argument("data_root", help="a synthetic PATS-layout root (with synth/ ground truth)")
    p.add_argument("--speakers", default=None, help="comma-separated speakers (default: all in the root)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_separability)

    def run_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--profile", default="cpu", help="smoke | cpu | paper")
        p.add_argument("--data-root", default=None, help="a PATS-layout root (default: the synthetic dataset)")
        p.add_argument("--results-dir", default="results")
        p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       help="override any config field (repeatable), e.g. --set epochs=3")
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = sub.add_parser("train", help="train and evaluate one run (speaker, variant, seed) into results/")
    p.add_argument("--speaker", default="lec_cosmic")
    p.add_argument("--variant", default="ccnce", help="none | ccnce | moco | patchnce")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="re-run even if the run is complete")
    run_options(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="re-evaluate a run folder from its best checkpoint")
    p.add_argument("run_dir")
    p.add_argument("--write", action="store_true", help="replace the run's evaluation (metrics.json, samples)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("reproduce", help="re-train a committed run into a scratch folder and compare every metric")
    p.add_argument("run_dir", help="a complete run folder, e.g. results/synthetic/lec_cosmic/ccnce/seed0")
    p.add_argument("--scratch", default=None, help="where to train (default: a new temporary folder)")
    p.add_argument("--certify", action="store_true",
                   help="if reproduced, certify the current code fingerprint for the run's variant")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser("audit", help="list runs, incomplete runs and stale runs (trained by other code)")
    p.add_argument("results_dir", nargs="?", default="results")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser("sweep", help="run every missing (speaker, variant, seed) through the training notebook")
    p.add_argument("--speakers", default=",".join(SPEAKERS))
    p.add_argument("--variants", default="ccnce,none,moco,patchnce")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (slurm: the array's parallelism)")
    p.add_argument("--shard", default=None, metavar="i/n", help="take every n-th run, starting at i")
    p.add_argument("--launcher", choices=("inprocess", "local", "slurm"), default="inprocess",
                   help="inprocess (default): this machine; local/slurm: one submitit job per run")
    p.add_argument("--partition", default=None, help="SLURM partition (--launcher slurm)")
    p.add_argument("--gpus-per-run", type=int, default=0, help="GPUs per job (submitit launchers)")
    p.add_argument("--time-min", type=int, default=120, help="time limit per job in minutes (submitit launchers)")
    p.add_argument("--cpus-per-run", type=int, default=2, help="CPU cores per job (submitit launchers)")
    p.add_argument("--submitit-dir", default="results/.submitit", help="submitit's job logs and pickles")
    run_options(p)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("baselines", help="score the trivial baselines (mean pose, random window, nearest "
                                         "neighbour) on each speaker's test windows")
    p.add_argument("--speakers", default=",".join(SPEAKERS))
    p.add_argument("--seeds", default="0,1,2,3,4", help="seeds of the random-window draw")
    run_options(p)
    p.set_defaults(func=_cmd_baselines)

    p = sub.add_parser("bench", help="benchmarks, measured as ratios side by side in one run")
    p.add_argument("name", choices=("cache", "clustering", "step", "bank_encoding", "scale"))
    p.add_argument("--quick", action="store_true", help="fewer repetitions (for a smoke check)")
    p.add_argument("--device", default=None, help="step: cpu (default) or cuda")
    p.add_argument("--profile", default=None, help="step, scale: the config profile of the step (default cpu)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="step, scale: override a config field of the step")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("study", help="studies without training: clustering (replay CC-NCE's online clustering), "
                                     "probes (score true motion shrunk or delayed)")
    p.add_argument("name", choices=("clustering", "probes"))
    p.add_argument("--speaker", default="lec_cosmic")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--profile", default="cpu", help="smoke | cpu | paper")
    p.add_argument("--data-root", default=None, help="a synthetic PATS-layout root (default: the synthetic dataset)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a config field of every setting (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_study)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except CcnceError as e:
        print(f"ccnce: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ccnce: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
