"""The Performance page: benchmark outputs under ``results/bench/`` (as time ratios side by side, the
bank-encoding trade-off as curves, DDP and the sweep launchers as a table), the GPU measurements of
``scripts/gpu_check.sh`` under ``results/bench/gpu/`` when there are any, and the wall time of the sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ccnce.report.figures import _footer, _new_figure, _palette
from ccnce.report.runs import METRICS, MISSING, MissingResults, collect_runs, read_history, results_dir

BENCHMARKS: dict[str, str] = {
    "clustering": "vectorised online clustering (Algorithms 1–2) vs. the plain-Python reference: speed-up",
    "step": "milliseconds per training step (D + G) per variant, and the ratio to the backbone alone",
    "cache": "what the window cache costs to build and what it buys when reading",
    "bank_encoding": "CC-NCE forward per batch with each way of encoding the global bank's members",
    "scale": "the training step in 1 vs 2 processes (DDP), and the same smoke runs through the in-process sweep "
             "vs submitit's local jobs",
}
"""Benchmarks the Performance page expects as ``results/bench/<name>.json`` (``ccnce bench NAME --json``)."""


def not_measured(name: str) -> str:
    """The page's sentence for a benchmark of :data:`BENCHMARKS` without output, with the command."""
    return (f"**{name}** ({BENCHMARKS[name]}): *not measured in this build;* "
            f"`ccnce bench {name} --json > results/bench/{name}.json` records it.")


BANK_ENCODINGS = ("full", "sampled", "momentum", "memory")
"""The ``bank_encoding`` settings, in the order the page shows them."""

STEP_TARGET = 1.10
"""The CC-NCE step's target cost, × the backbone's step (issue "Beyond one machine")."""


def step_target_note(result: Any, target: float = STEP_TARGET) -> str:
    """Whether ``ccnce bench step`` (its JSON) meets the target cost of a CC-NCE step over the backbone's."""
    try:
        ratio = float(result["ccnce"]["ratio_vs_none"])
    except (TypeError, KeyError, ValueError):
        return not_measured("step")
    low, high = result["ccnce"].get("ratio_ci95") or (ratio, ratio)
    if high <= target:
        verdict = "met"
    elif low > target:
        verdict = f"**not met**: {ratio - target:.2f}× of the backbone's step over it"
    else:
        verdict = "undecided (the interval contains it)"
    interval = (f"; 95 % CI {low:.2f}–{high:.2f}× over {result['ccnce'].get('repetitions', '?')} paired steps"
                if "ratio_ci95" in result["ccnce"] else "")
    cheaper = [f"`{name}` {r['ratio_vs_none']:.2f}× (CI {r['ratio_ci95'][0]:.2f}–{r['ratio_ci95'][1]:.2f})"
               for name, r in result.items() if name.startswith("ccnce[") and "ratio_ci95" in r]
    alternatives = (" Cheaper settings, measured beside it: " + "; ".join(cheaper) + ". Each changes the numbers "
                    "training computes; the section \"A cheaper CC-NCE?\" says whether one trains as well as the "
                    "default."
                    if cheaper else "")
    return (f"A CC-NCE step costs **{ratio:.2f}×** the backbone's ({result['ccnce']['ms_per_step']:.0f} vs "
            f"{result['none']['ms_per_step']:.0f} ms{interval}). Target ≤ {target:.2f}×: {verdict}.{alternatives}")


def step_parts_table(result: Any) -> pd.DataFrame:
    """``ccnce bench step``'s ``ccnce_parts``: ms of each part of the CC-NCE step's extra time over the
    backbone's, and as a share of the backbone's step; raises :class:`MissingResults` without it."""
    parts = result.get("ccnce_parts") if isinstance(result, dict) else None
    if not isinstance(parts, dict) or not isinstance(result.get("none"), dict):
        raise MissingResults("no CC-NCE step breakdown in results/bench/step.json (`ccnce bench step --json`)")
    from ccnce.bench.step import PARTS

    none = float(result["none"]["ms_per_step"])
    rows = [(label, parts[label]) for label in (*PARTS, "extra step") if label in parts]
    df = pd.DataFrame(rows, columns=["part of the CC-NCE step", "ms"]).set_index("part of the CC-NCE step")
    df["% of the backbone's step"] = 100 * df["ms"] / none
    return df.round(1)


def _read_jsons(folder: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in sorted(folder.glob("*.json")):
        try:
            out[f.stem] = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as e:
            out[f.stem] = f"unreadable: {e}"
    return out


def load_bench(results: str | Path | None = None) -> dict[str, Any]:
    """Every ``results/bench/*.json`` (benchmark outputs), by file stem; unreadable files are reported as
    a string."""
    return _read_jsons((Path(results) if results is not None else results_dir()) / "bench")


def bench_table(result: Any) -> pd.DataFrame:
    """One benchmark's JSON as a table: a mapping of mappings becomes rows × fields, a flat mapping two
    columns (quantity, value); nested values are shown as JSON text."""
    def cell(x: Any) -> Any:
        if isinstance(x, float):
            return f"{x:,.4g}"
        return json.dumps(x, sort_keys=True) if isinstance(x, (dict, list)) else x

    if isinstance(result, dict) and result and all(isinstance(v, dict) for v in result.values()):
        df = pd.DataFrame.from_dict(result, orient="index")
        return df.map(cell)
    if isinstance(result, dict):
        return pd.DataFrame({"quantity": list(result), "value": [cell(v) for v in result.values()]}).set_index("quantity")
    return pd.DataFrame({"value": [cell(result)]})


def _step_ratios(r: dict[str, Any]) -> list[tuple[str, float]]:
    return [(f"{variant} ÷ backbone alone", float(v["ratio_vs_none"])) for variant, v in r.items()
            if isinstance(v, dict) and "ratio_vs_none" in v and variant != "none"]


def _clustering_ratios(r: dict[str, Any]) -> list[tuple[str, float]]:
    rows = []
    for key, reference in (("speedup", "per-pair loop"), ("speedup_vs_per_anchor", "per-anchor loop"),
                           ("speedup_vs_full", "per-anchor + full re-encoding")):
        rows += [(f"{reference} ÷ ours, batch {b}", float(x)) for b, x in zip(r.get("batch_sizes", []), r.get(key, []))]
    return rows


def _cache_ratios(r: dict[str, Any]) -> list[tuple[str, float]]:
    named = (("cached_vs_no_cache", "no cache ÷ cached (epoch)"),
             ("batched_vs_per_item", "per-window ÷ batched loader (epoch)"),
             ("meta_build_safe_vs_pandas", "safe text/meta ÷ pd.read_hdf (build)"),
             ("meta_decode_safe_vs_pandas", "safe text/meta ÷ pd.read_hdf (decode)"))
    return [(label, float(r[key])) for key, label in named if key in r]


def _bank_encoding_ratios(r: dict[str, Any]) -> list[tuple[str, float]]:
    base = r.get("sampled", {}).get("ms_per_step")
    return [(f"{encoding} ÷ sampled (ms per step)", float(r[encoding]["ms_per_step"]) / base)
            for encoding in BANK_ENCODINGS if encoding != "sampled" and base and isinstance(r.get(encoding), dict)]


def _scale_ratios(r: dict[str, Any]) -> list[tuple[str, float]]:
    ddp, launchers = r.get("ddp", {}), r.get("launchers", {})
    rows = [(f"1 ÷ {ddp['world']} processes (ms per global step)", float(ddp["speedup"]))] if "speedup" in ddp else []
    if "local_vs_inprocess" in launchers:
        rows.append(("submitit local ÷ in-process sweep (wall time)", float(launchers["local_vs_inprocess"])))
    return rows


_RATIOS = {"step": _step_ratios, "clustering": _clustering_ratios, "cache": _cache_ratios,
           "bank_encoding": _bank_encoding_ratios, "scale": _scale_ratios}


def bench_ratios(bench: dict[str, Any]) -> pd.DataFrame:
    """The time ratios the benchmarks measured side by side, one row each: ``benchmark``, ``comparison``
    ("A ÷ B": the time of A over the time of B, so > 1 means B is faster) and ``ratio``. Benchmarks of
    :data:`BENCHMARKS` only; unreadable or unknown outputs are skipped."""
    rows = [{"benchmark": name, "comparison": label, "ratio": ratio}
            for name, ratios in _RATIOS.items() if isinstance(bench.get(name), dict)
            for label, ratio in ratios(bench[name])]
    return pd.DataFrame(rows, columns=["benchmark", "comparison", "ratio"])


_PANEL_TITLE = {"step": "step: one training step (D + G) per variant",
                "clustering": "clustering: one CC-NCE term, loop references vs ours (vectorised)",
                "cache": "cache: reading training windows", "bank_encoding": "bank_encoding: one CC-NCE step",
                "scale": "scale: DDP training step, and sweep launchers"}


def bench_figure(bench: dict[str, Any]) -> Figure:
    """Every ratio of :func:`bench_ratios` as a dot on a line from 1× (seaborn, shared log scale), one panel
    per benchmark; raises :class:`MissingResults` when no benchmark output is there."""
    import seaborn as sns
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ratios = bench_ratios(bench)
    if ratios.empty:
        raise MissingResults("no benchmark output under results/bench/ (`ccnce bench NAME --json`)")
    names = list(dict.fromkeys(ratios["benchmark"]))
    counts = [int((ratios["benchmark"] == n).sum()) for n in names]
    fig = _new_figure(7.5, 0.27 * sum(counts) + 0.6 * len(names) + 0.7)
    axes = fig.subplots(len(names), 1, squeeze=False, sharex=True, gridspec_kw={"height_ratios": counts})[:, 0]
    for ax, name, color in zip(axes, names, _palette(len(names))):
        d = ratios[ratios["benchmark"] == name].reset_index(drop=True)
        ax.hlines(d.index, 1.0, d["ratio"], color=color, linewidth=2.5, alpha=0.6)
        sns.stripplot(data=d, x="ratio", y="comparison", ax=ax, color=color, size=6, jitter=False, orient="h")
        for y, ratio in enumerate(d["ratio"]):
            ax.annotate(f"{ratio:.3g}×", (ratio, y), xytext=(6, 0), textcoords="offset points", va="center",
                        fontsize=7)
        ax.axvline(1.0, color="#444444", linewidth=0.8, linestyle="--")
        ax.set_title(_PANEL_TITLE.get(name, name), fontsize=8, loc="left")
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(labelsize=7)
    axes[-1].set_xscale("log")
    axes[-1].set_xlim(min(0.8, ratios["ratio"].min() / 1.3), ratios["ratio"].max() * 1.8)
    axes[-1].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    axes[-1].xaxis.set_minor_formatter(NullFormatter())
    axes[-1].set_xlabel("time ratio A ÷ B (log scale; > 1: B is faster)", fontsize=7.5)
    _footer(fig, [], note="from results/bench/*.json, each measured side by side in one process (ccnce bench NAME)")
    return fig


def bank_encoding_figure(result: dict[str, Any]) -> Figure:
    """``ccnce bench bank_encoding``: cross-family k-NN accuracy of the toy task against training steps,
    one line per bank encoding (its ms per step in the legend), chance dashed; raises
    :class:`MissingResults` without the benchmark's output."""
    if not isinstance(result, dict) or "checkpoints" not in result:
        raise MissingResults("no results/bench/bank_encoding.json (`ccnce bench bank_encoding --json`)")
    steps = [0, *result["checkpoints"]]
    fig = _new_figure(5.2, 3.0)
    ax = fig.subplots()
    encodings = [e for e in BANK_ENCODINGS if isinstance(result.get(e), dict)]
    for encoding, color in zip(encodings, _palette(len(encodings))):
        r = result[encoding]
        ax.plot(steps, r["knn"], marker="o", markersize=3.5, color=color,
                label=f"{encoding} ({r['ms_per_step']:.0f} ms/step)")
    ax.axhline(result["chance"], color="#888888", linewidth=0.8, linestyle="--", label="chance")
    ax.set_xlabel("CC-NCE training steps after warm-up", fontsize=8)
    ax.set_ylabel("cross-family k-NN accuracy", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    _footer(fig, [], note=f"toy grounding task, mean over seeds {result.get('seeds')} (results/bench/bank_encoding.json)")
    return fig


COST_DIR = Path("studies") / "cost"
"""Runs of cheaper CC-NCE settings (``make study-cost``), one folder per setting under the results folder."""

DEV_METRICS: dict[str, str] = {"dev_l1": "l1", "dev_gesture_acc": "gesture_acc", "dev_fgd": "fgd"}
"""The dev-set scores of a run's history (column → metric), on which a cheaper setting is judged."""

def _dev_at_best_epoch(run: str | Path) -> dict[str, float]:
    """A run's dev scores at the epoch it kept (its ``best_epoch``, chosen on dev L1)."""
    best = json.loads((Path(run) / "metrics.json").read_text())["best_epoch"]
    history = read_history(run).set_index("epoch")
    return {column: float(history.loc[best, column]) for column in DEV_METRICS}


def _changed_settings(run: str | Path, reference: str | Path) -> str:
    """The config fields in which ``run`` differs from ``reference``, as ``k=v`` (fields that name a run or a
    machine aside; a field that ``reference``'s config.json predates counts with its default)."""
    from ccnce.reproduce import recorded_config
    from ccnce.sweep import NAMED

    a, b = (recorded_config(Path(r)).to_dict() for r in (run, reference))
    skip = {*NAMED, "device", "num_workers"}
    return ", ".join(f"{k}={a[k]}" for k in sorted(a) if k not in skip and a[k] != b[k]) or "none"


def _cost_settings(results: str | Path | None, data_source: str) -> dict[str, pd.DataFrame]:
    """The CC-NCE runs of each setting under ``results/studies/cost/``, by setting; raises
    :class:`MissingResults` when there is none (before ``make study-cost``)."""
    root = (Path(results) if results is not None else results_dir()) / COST_DIR
    settings = {p.name: collect_runs(p) for p in sorted(root.glob("*")) if p.is_dir()}
    settings = {k: v[(v["data_source"] == data_source) & (v["variant"] == "ccnce")] for k, v in settings.items()}
    settings = {k: v for k, v in settings.items() if not v.empty}
    if not settings:
        raise MissingResults(f"no cheaper CC-NCE setting under results/{COST_DIR}/ yet (`make study-cost`)")
    return settings


def cheaper_ccnce_table(runs: pd.DataFrame, results: str | Path | None = None,
                        data_source: str = "synthetic") -> pd.DataFrame:
    """Each cheaper CC-NCE setting of ``make study-cost`` against the default sweep's CC-NCE on the same
    (speaker, seed): per dev metric at each run's kept epoch, the paired difference setting − default with
    its 95 % interval (:func:`ccnce.metrics.paired_comparison`) and whether the setting is better, worse or
    not distinguishable on it. Dev data only: a choice of setting must not look at test scores. Raises
    :class:`MissingResults` before ``make study-cost``."""
    from ccnce.metrics import paired_comparison

    mine = runs[(runs["data_source"] == data_source) & (runs["variant"] == "ccnce")].set_index(["speaker", "seed"])
    rows = []
    for setting, cheap in _cost_settings(results, data_source).items():
        cheap = cheap.set_index(["speaker", "seed"])
        shared = cheap.index.intersection(mine.index)
        if len(shared) < 2:
            continue
        a = pd.DataFrame([_dev_at_best_epoch(cheap.loc[k, "path"]) for k in shared])
        b = pd.DataFrame([_dev_at_best_epoch(mine.loc[k, "path"]) for k in shared])
        changed = _changed_settings(cheap.loc[shared[0], "path"], mine.loc[shared[0], "path"])
        for column, metric in DEV_METRICS.items():
            res = paired_comparison(a[column].to_numpy(), b[column].to_numpy())
            lower = METRICS[metric].better == "lower"
            better = res["ci_high"] < 0 if lower else res["ci_low"] > 0
            worse = res["ci_low"] > 0 if lower else res["ci_high"] < 0
            rows.append({"setting": setting, "changes": changed, "dev metric": metric, "pairs": len(shared),
                         "setting − default [95 % CI]": f"{res['mean_diff']:+.3g} [{res['ci_low']:+.3g}, {res['ci_high']:+.3g}]",
                         "default": f"{b[column].mean():.3g}",
                         "reading": "better" if better else "worse" if worse else "no difference found"})
    if not rows:
        raise MissingResults(f"no setting under results/{COST_DIR}/ shares two (speaker, seed) pairs with the "
                             "default sweep's CC-NCE yet (`make study-cost`)")
    return pd.DataFrame(rows).set_index(["setting", "changes", "dev metric"])


def cheaper_ccnce_curves(runs: pd.DataFrame, results: str | Path | None = None,
                         data_source: str = "synthetic") -> Figure:
    """Why a cheaper setting is worse or not: per epoch, the mean over the cost study's (speaker, seed)
    pairs of the training reconstruction loss, the dev L1 and Eq. 7's loss, for the backbone alone, the
    default sweep's CC-NCE and each setting under ``results/studies/cost/``; raises :class:`MissingResults`
    before ``make study-cost``."""
    settings = _cost_settings(results, data_source)
    pairs = set().union(*(zip(v["speaker"], v["seed"]) for v in settings.values()))
    mine = runs[runs["data_source"] == data_source]
    mine = mine[[(s, d) in pairs for s, d in zip(mine["speaker"], mine["seed"])]]
    groups = {"backbone alone": mine[mine["variant"] == "none"], "CC-NCE (default)": mine[mine["variant"] == "ccnce"],
              **settings}
    panels = (("rec", "training reconstruction"), ("dev_l1", "dev L1"), ("contrastive", "Eq. 7 (training, term on)"))
    fig = _new_figure(7.5, 2.6)
    axes = fig.subplots(1, len(panels))
    for (label, group), color in zip(groups.items(), _palette(len(groups))):
        history = pd.concat([read_history(p) for p in group["path"]], ignore_index=True)
        if "contrastive" in history:  # 0 while the term is off (warm-up, the backbone): not a loss value
            history["contrastive"] = history["contrastive"].mask(history["contrastive"] == 0)
        for ax, (column, _) in zip(axes, panels):
            if column in history and history[column].notna().any():
                curve = history.groupby("epoch")[column].mean().dropna()
                ax.plot(curve.index, curve.to_numpy(), marker="o", markersize=2.5, color=color,
                        label=f"{label} ({len(group)} runs)")
    for ax, (_, title) in zip(axes, panels):
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("epoch", fontsize=7.5)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=6.5, frameon=False)
    _footer(fig, [], note=f"means over the same (speaker, seed) pairs; results/{COST_DIR}/ and the default sweep")
    return fig


def cheaper_ccnce_reading(table: pd.DataFrame, step: Any = None) -> str:
    """One sentence per setting of :func:`cheaper_ccnce_table`: worse on some dev metric (it buys its speed
    with quality, the default stays), else better on some, else no difference found; with the step's cost
    from ``ccnce bench step`` (its JSON, ``step``) where the benchmark measured that setting."""
    sentences = []
    for (setting, changes), rows in table.reset_index().groupby(["setting", "changes"], sort=False):
        by = dict(zip(rows["dev metric"], rows["reading"]))
        worse = [m for m, r in by.items() if r == "worse"]
        better = [m for m, r in by.items() if r == "better"]
        row = (step or {}).get("ccnce[" + changes.replace(", ", ",") + "]") if isinstance(step, dict) else None
        cost = f"; its step costs {row['ratio_vs_none']:.2f}× the backbone's" if isinstance(row, dict) else ""
        head = f"**{setting}** (`{changes}`{cost}) over {int(rows['pairs'].iloc[0])} (speaker, seed) pairs:"
        if worse:
            sentences.append(f"{head} worse than the default on dev {_listed(worse)}; it buys its speed "
                             "with quality, so the default stays.")
        elif better:
            sentences.append(f"{head} better than the default on dev {_listed(better)}, no worse on the "
                             "rest; a candidate default for the next sweep that re-runs every CC-NCE run.")
        else:
            sentences.append(f"{head} no dev difference from the default found (which at this many pairs is not "
                             "proof of none); a candidate default for the next sweep that re-runs every CC-NCE run.")
    return "\n\n".join(sentences)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def scale_table(result: Any) -> pd.DataFrame:
    """``ccnce bench scale``: the DDP step in 1 and N processes (ms per global step, windows/s) and the
    sweep's wall time per launcher, with each pair's ratio; raises :class:`MissingResults` (saying how to
    measure it) without the benchmark's output."""
    if not isinstance(result, dict) or not {"ddp", "launchers"} <= set(result):
        raise MissingResults(not_measured("scale"))
    d, la = result["ddp"], result["launchers"]
    step = f"DDP: {d['variant']} step, {d['profile']} profile, global batch {d['global_batch']}"
    runs = f"sweep: {la['runs']} {la['profile']} run(s)"
    rows = [(step, f"{n} process{'es' if n > 1 else ''}", f"{d[f'world_{n}']['ms_per_step']:.1f} ms/step",
             f"{d[f'world_{n}']['windows_per_s']:,.0f}") for n in (1, d["world"])]
    rows += [(runs, label, f"{la[key]['wall_s']:.1f} s", MISSING)
             for key, label in (("inprocess", "--launcher inprocess"), ("local", "--launcher local (submitit)"))]
    df = pd.DataFrame(rows, columns=["measured", "setting", "time", "windows/s"])
    df["ratio"] = [MISSING, f"{d['speedup']:.2f}× faster", MISSING, f"{la['local_vs_inprocess']:.2f}× the time"]
    return df.set_index(["measured", "setting"])


GPU_DIR = "bench/gpu"
"""Where ``scripts/gpu_check.sh`` writes (its ``OUT``), under the results folder."""

GPU_COMMAND = "OUT=results/bench/gpu scripts/gpu_check.sh"


def load_gpu_bench(results: str | Path | None = None) -> dict[str, Any]:
    """The JSON outputs of ``scripts/gpu_check.sh`` (``results/bench/gpu/*.json``) by file stem, and the
    device of its short paper-profile run as ``"device"`` when it wrote one."""
    root = (Path(results) if results is not None else results_dir()) / GPU_DIR
    out = _read_jsons(root)
    for f in sorted(root.glob("paper_run/**/provenance.json")):
        out["device"] = json.loads(f.read_text()).get("device")
    return out


def gpu_note(gpu: dict[str, Any]) -> str:
    """Whether the GPU figures were measured, and where; the command that measures them when not."""
    if not isinstance(gpu.get("step_paper"), dict):
        return ("**GPU**: *not measured — no GPU has been lent to this project yet.* On a GPU machine, "
                f"`{GPU_COMMAND}` records the four variants' steps at the paper's sizes (bf16), K concurrent "
                "runs on one GPU against one, and a short paper-profile run; this section then shows them "
                "with the GPU-hours of the paper's full table.")
    return (f"**GPU**: measured on {gpu.get('device') or 'an unrecorded GPU'} by `{GPU_COMMAND}` "
            "(`results/bench/gpu/`).")


def gpu_tables(gpu: dict[str, Any]) -> list[pd.DataFrame]:
    """The GPU measurements as tables (none without them): the paper-profile step per variant, the
    throughput of K concurrent runs, and the paper's full table in GPU-hours (:func:`table_cost`)."""
    step = gpu.get("step_paper")
    if not isinstance(step, dict):
        return []
    step = {v: r for v, r in step.items() if isinstance(r, dict) and "ms_per_step" in r}
    tables = [bench_table(step)]
    concurrent = [gpu[k] for k in sorted(gpu) if k.startswith("concurrent_") and isinstance(gpu[k], dict)]
    if concurrent:
        tables.append(pd.DataFrame({f"K = {c['K']}": c["windows_per_s_total"] for c in concurrent})
                      .T.rename_axis("windows/s, all runs together").round(0))
    cost = table_cost({v: r["ms_per_step"] for v, r in step.items() if "[" not in v}, gpu.get("device") or "GPU")
    tables.append(cost.groupby(level="variant")[["runs", "hours"]].sum().round(2).rename(columns={"hours": "GPU-hours"}))
    return tables


def bench_provenance_note(bench: dict[str, Any]) -> str:
    """One sentence on where the benchmarks ran (``results/bench/provenance.json``), or that it is unknown."""
    p = bench.get("provenance")
    if not isinstance(p, dict):
        return "*Where the benchmarks ran is not recorded (no `results/bench/provenance.json`).*"
    git = p.get("git", {})
    commit = str(git.get("commit", "?"))[:10] + (" with uncommitted changes" if git.get("dirty") else "")
    when = f"started {p['started']}" if "started" in p else f"written {p.get('written', '?')}"
    return (f"Measured on {p.get('device', 'an unrecorded device')}, at commit `{commit}`, {when} "
            f"(torch {p.get('packages', {}).get('torch', '?')}).")


def sweep_time_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Wall time of the runs (from provenance): per data source and variant, runs, total hours, median
    minutes per run, and the devices used."""
    if runs.empty:
        return pd.DataFrame(columns=["runs", "total hours", "median min/run", "device"])
    rows = []
    for (source, variant), g in runs.groupby(["data_source", "variant"], sort=False):
        w = g["wall_seconds"].astype(float).dropna()
        rows.append({"data_source": source, "variant": variant, "runs": len(g),
                     "total hours": f"{w.sum() / 3600:.2f}" if len(w) else MISSING,
                     "median min/run": f"{w.median() / 60:.1f}" if len(w) else MISSING,
                     "device": "; ".join(sorted({str(d) for d in g["device"].dropna()})) or MISSING})
    w = runs["wall_seconds"].astype(float).dropna()
    rows.append({"data_source": "all", "variant": "all", "runs": len(runs),
                 "total hours": f"{w.sum() / 3600:.2f}" if len(w) else MISSING,
                 "median min/run": f"{w.median() / 60:.1f}" if len(w) else MISSING, "device": ""})
    return pd.DataFrame(rows).set_index(["data_source", "variant"])


# ------------------------------------------------------------------------------------ GPU-hours of the table
TRAIN_INTERVALS: dict[str, tuple[int, str]] = {
    # training intervals per speaker (PATS.md "Sizes"; mean interval ~10.7 s)
    "bee": (547, "PATS"),
    "maher": (925, "PATS"),
    "lec_cosmic": (67, "PATS: ~84 intervals in all, bee's train share (0.79)"),
    "oliver": (925, "assumed like maher (unverified)"),
    "colbert": (925, "assumed like maher (unverified)"),
}
MEAN_INTERVAL_SECONDS = 10.7


def train_windows(intervals: int, window: int = 64, hop: int = 5, fps: int = 15,
                  seconds: float = MEAN_INTERVAL_SECONDS) -> int:
    """Training windows of ``intervals`` intervals of mean length ``seconds``: ⌊(frames − window)/hop⌋ + 1 each."""
    frames = int(seconds * fps)
    return intervals * max(0, (frames - window) // hop + 1)


def table_cost(ms_per_step: dict[str, float], measured_on: str, epochs: int = 20, batch_size: int = 32,
               seeds: int = 3, window: int = 64, hop: int = 5) -> pd.DataFrame:
    """Device-hours to train the paper's full table (5 speakers × the variants of ``ms_per_step`` × ``seeds``)
    from measured milliseconds per training step (``ccnce bench step``): steps per epoch = training windows
    / batch size, ``epochs`` epochs per run (no early stop). Evaluation is not counted. ``measured_on``
    labels every row (a CPU figure is not a GPU figure)."""
    rows = []
    for speaker, (intervals, source) in TRAIN_INTERVALS.items():
        windows = train_windows(intervals, window, hop)
        steps = windows // batch_size * epochs
        for variant, ms in ms_per_step.items():
            rows.append({"speaker": speaker, "variant": variant, "train windows": windows, "size source": source,
                         "steps per run": steps, "ms/step": ms, "runs": seeds,
                         "hours": steps * ms / 3.6e6 * seeds, "measured on": measured_on})
    df = pd.DataFrame(rows)
    total = {"speaker": "all", "variant": "all", "train windows": int(df.groupby("speaker")["train windows"].first().sum()),
             "size source": "", "steps per run": int(df["steps per run"].sum()), "ms/step": float("nan"),
             "runs": int(df["runs"].sum()), "hours": float(df["hours"].sum()), "measured on": measured_on}
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True).set_index(["speaker", "variant"])
