#!/usr/bin/env bash
# Regenerates the DVFS study: results/{runs,summary}.csv, results/frequency_seed1.csv,
# figures/*.png and the generated tables of README.md. Usage, from anywhere:
#
#     bash experiments/dvfs/run.sh
#
# Reduced run (smoke tests, quick looks), written elsewhere so the committed files stay:
#     STUDY_OUT=/tmp/dvfs STUDY_SEEDS=2 STUDY_DURATION_MS=3000 bash experiments/dvfs/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${STUDY_OUT:-$here}"
seeds="${STUDY_SEEDS:-10}"
jobs="${STUDY_JOBS:-2}"
extra=()
if [[ -n "${STUDY_DURATION_MS:-}" ]]; then extra=(--set "duration_ms=${STUDY_DURATION_MS}"); fi
if [[ "$out" != "$here" ]]; then mkdir -p "$out" && cp "$here/README.md" "$out/README.md"; fi

simsched compare "$here/config.yaml" \
    --policies affinity+performance,affinity+ondemand,affinity+budget,affinity+powersave \
    --seeds "$seeds" ${extra[@]+"${extra[@]}"} \
    --jobs "$jobs" --out "$out/results" --force
python "$here/report.py" "$out"
