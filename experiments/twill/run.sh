#!/usr/bin/env bash
# Regenerates the Twill study: results/<mode>/{runs,summary}.csv, figures/*.png and the
# generated tables of README.md. Usage, from anywhere:
#
#     bash experiments/twill/run.sh
#
# Reduced run (smoke tests, quick looks), written elsewhere so the committed files stay:
#     STUDY_OUT=/tmp/twill STUDY_SEEDS=2 STUDY_DURATION_MS=3000 STUDY_CHECK_MS=4000 STUDY_CHECK_SEEDS=2 \
#         bash experiments/twill/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${STUDY_OUT:-$here}"
seeds="${STUDY_SEEDS:-10}"
jobs="${STUDY_JOBS:-2}"
extra=()
if [[ -n "${STUDY_DURATION_MS:-}" ]]; then extra=(--set "duration_ms=${STUDY_DURATION_MS}"); fi
if [[ "$out" != "$here" ]]; then mkdir -p "$out" && cp "$here/README.md" "$out/README.md"; fi

for mode in 10W 15W 25W; do
    simsched compare "$here/config.yaml" \
        --policies fifo,affinity,affinity+budget,dream,dream+budget,twill \
        --seeds "$seeds" --set "power_mode=$mode" ${extra[@]+"${extra[@]}"} \
        --jobs "$jobs" --out "$out/results/$mode" --force
done
# Duration check: the 15W comparison of fifo, dream and twill at twice the duration.
check_ms="${STUDY_CHECK_MS:-120000}"
simsched compare "$here/config.yaml" --policies fifo,dream,twill \
    --seeds "${STUDY_CHECK_SEEDS:-5}" --set power_mode=15W --set "duration_ms=$check_ms" \
    --jobs "$jobs" --out "$out/results/15W-long" --force
python "$here/report.py" "$out"
