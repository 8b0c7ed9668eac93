"""``simsched profile import FILE --platform P --out NEW.yaml`` and ``simsched profile export``.

Import reads measurements (the simsched CSV, or trtexec / llama-bench / ONNX Runtime
output) and writes a platform YAML with them in its models, each changed number marked
``measured`` and its source added to the model's ``source``. Export writes a platform's
profile numbers as the CSV that import reads (docs/import.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simsched.errors import ConfigError

FORMATS = ("csv", "trtexec", "llama-bench", "ort")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``profile`` subcommand with ``import`` and ``export``."""
    p = sub.add_parser("profile", help="import measured model profiles into a platform, or export them as CSV")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    psub = p.add_subparsers(metavar="ACTION")

    imp = psub.add_parser("import", help="write a platform with measurements from FILE in its models")
    imp.add_argument("file", help="measurements: CSV, trtexec JSON, llama-bench JSON/CSV or ONNX Runtime profile JSON")
    imp.add_argument("--platform", required=True, help="a shipped platform name or a platform YAML file")
    imp.add_argument("--out", "-o", required=True, help="the platform YAML to write")
    imp.add_argument("--format", choices=FORMATS, help="input format (default: from the file's content)")
    imp.add_argument("--model", help="model name on the platform (trtexec, llama-bench, ort: the file does not name it)")
    imp.add_argument("--processor", help="processor name or kind (trtexec, llama-bench, ort)")
    imp.add_argument("--metric", default="computeMs", help="trtexec --exportTimes interval to take the median of "
                     "(computeMs, latencyMs, endToEndMs; default computeMs)")
    imp.add_argument("--force", action="store_true", help="replace an existing --out file")
    imp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    imp.set_defaults(func=_cmd_import)

    exp = psub.add_parser("export", help="write a platform's profile numbers as CSV")
    exp.add_argument("--platform", required=True, help="a shipped platform name or a platform YAML file")
    exp.add_argument("--out", "-o", help="CSV file to write (default: standard output)")
    exp.add_argument("--force", action="store_true", help="replace an existing --out file")
    exp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    exp.set_defaults(func=_cmd_export)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def detect_format(path: str) -> str:
    """Guess the input format from the file's content.

    Returns
    -------
    str
        One of :data:`FORMATS`.
    """
    from simsched.importers.csv_profiles import read_text

    text = read_text(path).lstrip()
    head = text[:4096]
    if text.startswith(("[", "{")):
        if '"n_prompt"' in head or '"avg_ts"' in head:
            return "llama-bench"
        if '"cat"' in head and '"ph"' in head:
            return "ort"
        if "Ms\"" in head or '"count"' in head:
            return "trtexec"
        raise ConfigError(path, "", "JSON of an unknown kind; give --format (trtexec, llama-bench, ort)")
    first = text.splitlines()[0] if text else ""
    if "n_prompt" in first and "avg_ts" in first:
        return "llama-bench"
    return "csv"


def read_measurements(args: argparse.Namespace) -> list:
    """The measurements of ``args.file`` in ``args.format`` (detected when not given)."""
    from simsched.importers import csv_profiles, llama_bench, ort, trtexec

    fmt = args.format or detect_format(args.file)
    if fmt == "csv":
        return csv_profiles.read_csv(args.file)
    for opt in ("model", "processor"):
        if not getattr(args, opt):
            raise ConfigError(args.file, f"--{opt}", f"a {fmt} file does not name the simsched {opt}: give --{opt}")
    if fmt == "trtexec":
        return trtexec.read(args.file, args.model, args.processor, args.metric)
    if fmt == "llama-bench":
        return llama_bench.read(args.file, args.model, args.processor)
    return ort.read(args.file, args.model, args.processor)


def _cmd_import(args: argparse.Namespace) -> int:
    from simsched.importers import apply_measurements, dump_yaml, load_platform_data, write_text

    rows = read_measurements(args)
    data, origin = load_platform_data(args.platform)
    out, notes = apply_measurements(data, rows, args.file)
    header = (f"Platform '{out.get('name')}' ({origin}) with measurements imported from {Path(args.file).name}\n"
              "by `simsched profile import`. The original file's comments are not carried over; the\n"
              "imported numbers are marked measured and their sources are in each model's source list.")
    write_text(args.out, dump_yaml(out, header), force=args.force)
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
    print(f"wrote {args.out}: {len(rows)} number(s) imported into platform {out.get('name')}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from simsched.importers import load_platform_data, platform_spec, write_text
    from simsched.importers.csv_profiles import export_csv

    data, origin = load_platform_data(args.platform)
    text = export_csv(platform_spec(data, origin), data)
    if args.out:
        write_text(args.out, text, force=args.force)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0
