#!/usr/bin/env bash
# The GPU measurements of issue 12, as one script for a lent GPU machine (about 8 minutes on one H100/H200).
#
#   OUT=/some/folder scripts/gpu_check.sh        (OUT defaults to results/bench/gpu)
#
# Writes into $OUT:
#   step_paper.json     ccnce bench step --device cuda --profile paper: ms/step, windows/s, peak MiB per variant
#   step_cpu.json       the same at the cpu profile's sizes on the GPU (E=64)
#   concurrent_K.json   K = 1, 2, 4 copies of the paper-profile step bench at once (throughput = sum of windows/s)
#   paper_run/          a short paper-profile run (lec_cosmic, ccnce, 2 epochs) with its provenance
#   log.txt             everything printed
# The text encoder is the packaged MiniLM (a bare GPU machine has no bert-base-uncased and no internet).
# Then, on the development machine: ccnce.report.performance.table_cost(<ms/step of step_paper.json>, "H200")
set -uo pipefail
OUT=${OUT:-results/bench/gpu}
mkdir -p "$OUT"
PY=${PY:-python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec > >(tee -a "$OUT/log.txt") 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"

echo "== 1. the four variants' steps (paper profile, bf16 autocast)"
timeout 240 $PY -m ccnce bench step --device cuda --profile paper --set text_encoder=minilm --json > "$OUT/step_paper.json" \
  && $PY -c "import json,sys; from ccnce.bench.step import format_result; print(format_result(json.load(open(sys.argv[1]))))" "$OUT/step_paper.json"
timeout 120 $PY -m ccnce bench step --device cuda --profile cpu --quick --json > "$OUT/step_cpu.json" \
  && $PY -c "import json,sys; from ccnce.bench.step import format_result; print(format_result(json.load(open(sys.argv[1]))))" "$OUT/step_cpu.json"

echo "== 2. K concurrent runs on one GPU vs one (throughput)"
for K in 1 2 4; do
  pids=()
  for i in $(seq 1 "$K"); do
    timeout 200 $PY -m ccnce bench step --device cuda --profile paper --set text_encoder=minilm --quick --json > "$OUT/concurrent_${K}_$i.json" &
    pids+=($!)
  done
  wait "${pids[@]}"
  $PY - "$OUT" "$K" <<'PYEOF'
import json, sys, glob
out, K = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/concurrent_{K}_*.json"))]
total = {v: sum(r[v]["windows_per_s"] for r in runs) for v in runs[0] if "windows_per_s" in runs[0][v]}
json.dump({"K": K, "windows_per_s_total": total, "per_process": runs}, open(f"{out}/concurrent_{K}.json", "w"), indent=2)
print(f"K={K}: total windows/s", {v: round(x) for v, x in total.items()})
PYEOF
done

echo "== 3. a short paper-profile run"
timeout 300 $PY -m ccnce train --speaker lec_cosmic --variant ccnce --seed 0 --profile paper --quiet \
  --set text_encoder=minilm --set epochs=2 --set warmup_epochs=1 --set max_train_windows=4096 \
  --results-dir "$OUT/paper_run"
find "$OUT/paper_run" -name provenance.json -exec cat {} \;
echo "== done"
