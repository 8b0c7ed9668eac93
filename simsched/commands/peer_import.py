"""``simsched import ds3 SOC_FILE JOB_FILE... --out DIR``: a peer simulator's inputs as simsched files.

Writes DIR/platform.yaml, DIR/workload.yaml, DIR/experiment.yaml (runnable with
``simsched run DIR/experiment.yaml``) and DIR/IMPORT_NOTES.md, the list of what the
conversion could not express, which is also printed (docs/import.md).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from simsched.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``import`` subcommand (``import ds3``)."""
    p = sub.add_parser("import", help="convert a peer simulator's inputs (DS3) into simsched platform, workload, experiment")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    isub = p.add_subparsers(metavar="SIMULATOR")
    ds3 = isub.add_parser("ds3", help="DS3 (DASH-Sim) SoC file and job files")
    ds3.add_argument("soc_file", help="DS3 SoC file (SoC.*.txt)")
    ds3.add_argument("job_files", nargs="+", help="DS3 job files (job_*.txt), one per application")
    ds3.add_argument("--out", "-o", required=True, help="directory to write")
    ds3.add_argument("--scale", type=float, help="DS3 'scale': mean job inter-arrival time (us); overrides --config")
    ds3.add_argument("--probabilities", help="DS3 job_probabilities, comma-separated, one per job file")
    ds3.add_argument("--config", help="a DS3 config_file.ini (scale, job_probabilities, simulation_length, scheduler, ...)")
    ds3.add_argument("--duration-ms", type=float, help="simulated time (ms); default simulation_length, else 1000")
    ds3.add_argument("--name", help="platform name (default: from the SoC file's name)")
    ds3.add_argument("--force", action="store_true", help="replace an existing --out directory")
    ds3.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    ds3.set_defaults(func=_cmd_ds3)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _probabilities(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        out = [float(x) for x in text.strip("[] ").split(",") if x.strip()]
    except ValueError:
        raise ConfigError("--probabilities", "", f"expected numbers separated by commas, got '{text}'") from None
    if any(not (0 <= x < float("inf")) for x in out):
        raise ConfigError("--probabilities", "", "must be non-negative numbers")
    return out


def _cmd_ds3(args: argparse.Namespace) -> int:
    from simsched.config.loader import load_config
    from simsched.importers import dump_yaml
    from simsched.importers.ds3 import convert

    if args.duration_ms is not None and not 0 < args.duration_ms <= 1e9:
        raise ConfigError("--duration-ms", "", f"must be in (0, 1e9] ms, got {args.duration_ms:g}")
    platform, workload, experiment, notes = convert(
        args.soc_file, args.job_files, scale_us=args.scale, probabilities=_probabilities(args.probabilities),
        config_file=args.config, duration_ms=args.duration_ms, name=args.name,
    )
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ConfigError(args.out, "", "exists; use --force to replace it or choose another --out")
    if out.exists() and not out.is_dir():
        raise ConfigError(args.out, "", "exists and is not a directory")
    tmp = out.with_name(out.name + ".tmp-import")
    inputs = f"DS3 inputs: {Path(args.soc_file).name}, {', '.join(Path(j).name for j in args.job_files)}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "platform.yaml").write_text(dump_yaml(platform, f"Converted by `simsched import ds3` from {inputs}.\n"
                                                     "IMPORT_NOTES.md lists what could not be expressed."), encoding="utf-8")
        (tmp / "workload.yaml").write_text(dump_yaml(workload, f"Converted by `simsched import ds3` from {inputs}."), encoding="utf-8")
        (tmp / "experiment.yaml").write_text(dump_yaml(experiment, f"Converted by `simsched import ds3` from {inputs}."),
                                             encoding="utf-8")
        (tmp / "IMPORT_NOTES.md").write_text(notes_markdown(inputs, notes), encoding="utf-8")
        load_config(tmp / "experiment.yaml")  # the files must validate together before they replace anything
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConfigError(args.out, "", f"cannot write ({exc.strerror or exc})") from None
    except ConfigError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for line in notes:
        print(f"not expressible / assumed: {line}", file=sys.stderr)
    print(f"wrote {out}/platform.yaml, workload.yaml, experiment.yaml, IMPORT_NOTES.md "
          f"({len(platform['processors'])} processors, {len(platform['models'])} models, {len(workload['apps'])} apps)")
    print(f"run it: simsched run {out / 'experiment.yaml'}")
    return 0


def notes_markdown(inputs: str, notes: list[str]) -> str:
    """IMPORT_NOTES.md: the conversion's notes as a list."""
    lines = ["# Import notes", "", f"{inputs}.", "",
             "What the conversion could not express, or had to assume (docs/import.md, DS3):", ""]
    lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"
