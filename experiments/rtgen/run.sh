#!/usr/bin/env bash
# Regenerates the RTGen study: results/<workload>/{runs,summary}.csv, figures/*.png and
# the generated tables of README.md. Usage, from anywhere:
#
#     bash experiments/rtgen/run.sh
#
# Reduced run (smoke tests, quick looks), written elsewhere so the committed files stay:
#     STUDY_OUT=/tmp/rtgen STUDY_SEEDS=2 STUDY_DURATION_MS=5000 bash experiments/rtgen/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${STUDY_OUT:-$here}"
seeds="${STUDY_SEEDS:-5}"
jobs="${STUDY_JOBS:-2}"
extra=()
if [[ -n "${STUDY_DURATION_MS:-}" ]]; then extra=(--set "duration_ms=${STUDY_DURATION_MS}"); fi
if [[ "$out" != "$here" ]]; then mkdir -p "$out" && cp "$here/README.md" "$out/README.md"; fi

for workload in gaming videoconf; do
    simsched compare "$here/$workload.yaml" \
        --policies fifo,affinity,edf,heft,latency-greedy,dream,twill \
        --seeds "$seeds" ${extra[@]+"${extra[@]}"} \
        --jobs "$jobs" --out "$out/results/$workload" --force
done
python "$here/report.py" "$out"
