#!/usr/bin/env bash
# Regenerates the XR study: results/<duration>ms/<scenario>/{runs,summary}.csv, figures/*.png
# and the generated tables of README.md. Usage, from anywhere:
#
#     bash experiments/xr/run.sh
#
# The runs go through run_xr.py rather than `simsched compare` because compare's runs.csv
# does not carry the XRBench score yet; run_xr.py writes the same files with the same
# functions, plus the score (see README.md).
# Reduced run (smoke tests, quick looks), written elsewhere so the committed files stay:
#     STUDY_OUT=/tmp/xr STUDY_SEEDS=2 STUDY_DURATIONS_MS=700 bash experiments/xr/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${STUDY_OUT:-$here}"
if [[ "$out" != "$here" ]]; then mkdir -p "$out" && cp "$here/README.md" "$out/README.md"; fi

python "$here/run_xr.py" "$out"
python "$here/report.py" "$out"
