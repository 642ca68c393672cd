"""The book's numbers and figures, read from the results tree (EVALUATION.md, "Figures").

Reads ``results/<data_source>/<speaker>/<variant>/seed<k>/`` (see :mod:`ccnce.results`) and nothing
else: no training, no data loading. One module per concern; notebooks use ``from ccnce import report``
and the names below:

- :mod:`.runs`: the shared constants, :func:`results_dir`, :func:`collect_runs`, :func:`coverage`, and a
  run's folder and files;
- :mod:`.tables` (pure, tested): :func:`metric_table`, :func:`paper_table`, :func:`side_by_side`,
  :func:`paired_comparisons`, :func:`to_html`;
- figures (matplotlib :class:`~matplotlib.figure.Figure` objects, never shown or saved here):
  :mod:`.figures` (what they share, and :func:`metric_figure`), :mod:`.curves` (:func:`training_curves`,
  :func:`clustering_curves`, :func:`cluster_quality_curves`), :mod:`.figure2` (:func:`cluster_heatmaps`,
  :func:`tsne_figure`), :mod:`.grounding` (:func:`knn_figure` and its tables), :mod:`.qualitative`
  (:func:`qualitative_figure`, Figure 4), :mod:`.idea` (:func:`idea_figure`),
  :mod:`.regime` (the training-regime diagnosis: the default runs beside one-factor changes),
  :mod:`.arms` (the CC-NCE study's training arms, gradient norms and the reading of them),
  :mod:`.probes` (the backbone beside true motion spoiled in known ways),
  :mod:`.forest` (forest plots of the paired comparisons: t intervals, Holm), :mod:`.video` (a test window
  as WebM video with its speech);
- :mod:`.performance` and :mod:`.data_pages`: the tables of the Performance and Data pages;
- :mod:`.notebook`: :func:`show`, :func:`show_figure`;
- :mod:`.trust`: :func:`stale_banner` (runs the current code would not produce) and :func:`csv_download`.

Missing results never crash a page: tables show "—" and say how many of the expected runs exist; a
figure whose runs are missing raises :class:`MissingResults`, which :func:`show_figure` turns into a
sentence. Every figure names the run(s) it was drawn from, and every table names its data source:
numbers on the synthetic dataset are labelled *synthetic* wherever they appear.
"""

from __future__ import annotations

from ccnce.errors import CcnceError
from ccnce.report.curves import (CLUSTER_PANELS, CURVE_PANELS, QUALITY_PANELS, cluster_quality_curves,
                                 clustering_curves, training_curves)
from ccnce.report.data_pages import (dataset_summary, lexicon_tables, separability_figure, separability_tables,
                                     speaker_stats_figure, speaker_stats_table)
from ccnce.report.figure2 import cluster_heatmaps, joint_displacement, tsne_embedding, tsne_figure
from ccnce.report.forest import forest_caption, forest_figure, forest_table, holm, paired_t, show_forest, t_interval
from ccnce.report.figures import BODY_COLOR, LEFT_COLOR, RIGHT_COLOR, TRUE_COLOR, metric_figure
from ccnce.report.grounding import CHANCE_OF, chance_level, cluster_quality_table, grounding_table, knn_figure
from ccnce.report.idea import idea_figure
from ccnce.report.notebook import figure_png, show, show_figure
from ccnce.report.performance import (BENCHMARKS, COST_DIR, STEP_TARGET, cheaper_ccnce_curves, cheaper_ccnce_reading, cheaper_ccnce_table, step_parts_table, step_target_note, bank_encoding_figure, bench_figure, bench_provenance_note, bench_ratios,
                                      bench_table, gpu_note, gpu_tables, load_bench, load_gpu_bench, not_measured,
                                      scale_table, sweep_time_table)
from ccnce.report.probes import load_probes, probe_figure, probe_summary, probe_table
from ccnce.report.regime import REGIME_ARMS, REGIME_DIR, regime_curves, regime_runs, regime_table
from ccnce.report.arms import (ARMS, STUDY_DIR, arm_comparisons, arms_figure, arms_table, contrastive_share,
                               explanation, grad_norm_figure, gradient_norms, study_runs)
from ccnce.report.findings import claims_table, findings_box, load_replay, replay_figure, replay_summary, replay_table
from ccnce.report.qualitative import qualitative_figure
from ccnce.report.runs import (BASELINE_LABEL, BASELINE_ORDER, DATA_SOURCES, DEFAULT_SPEAKER, MEAN, METRICS, MISSING, PAPER_LABEL, RESULTS_ENV,
                               RUN_COLUMNS, SEEDS, SOURCE_LABEL, SYNTH_ENV, VARIANT_LABEL, VARIANT_ORDER, Coverage,
                               MetricInfo, MissingResults, collect_baselines, collect_runs, coverage, find_run, pick_speaker_seed,
                               read_history, repo_root, results_dir, run_label, sources_to_show, synthetic_root)
from ccnce.report.tables import (GLANCE_METRICS, backbone_targets, PAPER_MEAN_RTOL, PAPER_TABLES, format_paired, glance_table, headline,
                                 load_paper_tables, metric_summary, metric_table, paired_comparisons, paired_summary,
                                 paper_gap_note, paper_mean_note, paper_table, side_by_side, table_caption, to_html)
from ccnce.report.trust import best_note, csv_download, stale_banner
from ccnce.report.video import show_video, video_html, window_video

__all__ = [
    # runs
    "DATA_SOURCES", "DEFAULT_SPEAKER", "MEAN", "METRICS", "MISSING", "PAPER_LABEL", "RESULTS_ENV", "RUN_COLUMNS",
    "SEEDS", "SOURCE_LABEL", "SYNTH_ENV", "VARIANT_LABEL", "VARIANT_ORDER", "CcnceError", "Coverage", "MetricInfo",
    "BASELINE_LABEL", "BASELINE_ORDER", "MissingResults", "collect_baselines", "collect_runs", "coverage", "find_run", "pick_speaker_seed", "read_history", "repo_root",
    "results_dir", "run_label", "sources_to_show", "synthetic_root",
    # tables
    "GLANCE_METRICS", "backbone_targets", "PAPER_MEAN_RTOL", "PAPER_TABLES", "format_paired", "glance_table", "headline", "load_paper_tables", "metric_summary", "metric_table",
    "paired_comparisons", "paired_summary", "paper_gap_note", "paper_mean_note", "paper_table", "side_by_side",
    "table_caption", "to_html",
    # figures
    "BODY_COLOR", "LEFT_COLOR", "RIGHT_COLOR", "TRUE_COLOR", "metric_figure",
    "CLUSTER_PANELS", "CURVE_PANELS", "QUALITY_PANELS", "cluster_quality_curves", "clustering_curves",
    "training_curves",
    "cluster_heatmaps", "joint_displacement", "tsne_embedding", "tsne_figure",
    "CHANCE_OF", "chance_level", "cluster_quality_table", "grounding_table", "knn_figure",
    "qualitative_figure",
    "idea_figure",
    "ARMS", "STUDY_DIR", "arm_comparisons", "arms_figure", "arms_table", "contrastive_share", "explanation",
    "grad_norm_figure",
    "gradient_norms", "study_runs", "claims_table", "findings_box", "load_replay", "replay_figure", "replay_summary", "replay_table",
    "forest_caption", "forest_figure", "forest_table", "holm", "paired_t", "show_forest", "t_interval",
    "show_video", "video_html", "window_video",
    "REGIME_ARMS", "REGIME_DIR", "regime_curves", "regime_runs", "regime_table",
    "load_probes", "probe_figure", "probe_summary", "probe_table",
    # pages
    "BENCHMARKS", "COST_DIR", "STEP_TARGET", "cheaper_ccnce_curves", "cheaper_ccnce_reading", "cheaper_ccnce_table", "step_parts_table", "step_target_note", "bank_encoding_figure", "bench_figure", "bench_provenance_note", "bench_ratios", "bench_table",
    "gpu_note", "gpu_tables", "load_bench", "load_gpu_bench", "not_measured", "scale_table", "sweep_time_table",
    "dataset_summary", "lexicon_tables", "separability_figure", "separability_tables", "speaker_stats_figure",
    "speaker_stats_table",
    # notebook glue
    "figure_png", "show", "show_figure", "best_note", "csv_download", "stale_banner",
]
