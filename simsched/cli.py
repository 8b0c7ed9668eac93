"""Command line: ``simsched run | list | validate | schema``.

Bad input prints one line, ``error: FILE: FIELD: message``, and exits with 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from typing import Any

from simsched.errors import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ConfigError, SimschedError

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "format_summary", "main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``simsched`` console script; returns the exit code."""
    from simsched.signals import Terminated, handling_signals

    try:  # SIGTERM/SIGHUP from the start, so that they clean up like Ctrl-C (simsched.signals)
        with handling_signals():
            return _main(argv)
    except Terminated as exc:
        return _terminated(exc)


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from simsched.signals import Terminated

    try:
        code = args.func(args)
        sys.stdout.flush()  # a full stdout (/dev/full) fails here, not at exit with a traceback
        return code
    except ConfigError as exc:
        if exc.file == "<config>" and getattr(args, "config", None):  # raised past the loader: name the file
            exc = ConfigError(args.config, exc.field, exc.message)
        return _fail(args, exc, EXIT_USAGE)
    except SimschedError as exc:
        return _fail(args, exc, EXIT_FAIL)
    except Terminated as exc:
        return _terminated(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:  # the environment, not the input: a full disk or stdout, a vanished file
        return _os_error(args, exc)


def _os_error(args: argparse.Namespace, exc: OSError) -> int:
    """One line for an OSError that escaped the commands; stdout is silenced if it was the culprit."""
    where = exc.filename if isinstance(exc.filename, str) else "standard output"
    if where == "standard output":
        import os

        try:  # drop what is buffered, or the interpreter fails again flushing it at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
    return _fail(args, ConfigError(where, "", f"cannot write ({exc.strerror or exc})"), EXIT_USAGE)


def _terminated(exc: Any) -> int:
    """Remove temporary run folders still open after SIGTERM/SIGHUP; 128 + the signal's number."""
    from simsched.outdir import cleanup_live

    cleanup_live()
    print(f"terminated by {exc.name}", file=sys.stderr)
    return exc.exit_code


def _fail(args: argparse.Namespace, exc: Exception, code: int) -> int:
    if getattr(args, "debug", False):
        traceback.print_exc()
    message = " ".join(line.strip() for line in str(exc).splitlines())  # always one line
    print(f"error: {message}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="simsched", description="Simulate scheduling policies on heterogeneous SoCs.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="run one simulation and print its summary")
    run.add_argument("config", help="experiment YAML file")
    run.add_argument("--out", "-o", help="write the run directory here (jobs.csv, tasks.csv, ... summary.json)")
    run.add_argument("--force", action="store_true", help="replace an existing --out directory")
    run.add_argument("--seed", type=int, help="override the config's seed")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key by its dotted path")
    run.add_argument("--json", action="store_true", help="print summary.json instead of the table")
    run.add_argument("--check", action="store_true", help="check the run's invariants; exit 1 if any is violated")
    run.add_argument(
        "--stream", action="store_true",
        help="write the tables to --out while the run goes (for runs too long to keep in memory; same files)",
    )
    run.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    run.set_defaults(func=_cmd_run)

    ls = sub.add_parser("list", help="list shipped platforms, workloads, policies or governors")
    ls.add_argument("what", choices=["platforms", "workloads", "policies", "governors"])
    ls.add_argument(
        "--verbose", "-v", action="store_true", help="policies and governors: also their parameters (type, default, description)"
    )
    ls.set_defaults(func=_cmd_list)

    val = sub.add_parser("validate", help="check an experiment, platform or workload file without running it")
    val.add_argument("config")
    val.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    val.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    val.set_defaults(func=_cmd_validate)

    sch = sub.add_parser("schema", help="print the JSON Schema of experiment files")
    sch.set_defaults(func=_cmd_schema)

    import importlib
    import pkgutil

    import simsched.commands

    for mod in sorted(m.name for m in pkgutil.iter_modules(simsched.commands.__path__)):
        importlib.import_module(f"simsched.commands.{mod}").register(sub)
    return p


def _cmd_run(args: argparse.Namespace) -> int:
    from simsched.api import simulate
    from simsched.config.loader import load_config

    loaded = load_config(args.config, args.set, args.seed)
    if args.stream and not args.out:
        raise ConfigError(args.config, "", "--stream writes the tables while the run goes: give --out DIR")
    if args.out is not None:  # checked before a possibly long run, and again when published
        from simsched.outdir import check_target

        check_target(args.out, args.force)
    t0 = time.perf_counter()
    if args.stream:
        from simsched.api import simulate_streaming

        try:
            summary = simulate_streaming(loaded, args.out, force=args.force)
        except ConfigError:
            raise
        except OSError as exc:
            raise ConfigError(args.out, "", f"cannot write the run directory ({exc.strerror or exc})") from None
        result = None
    else:
        result = simulate(loaded)
        summary = result.summary
    wall = time.perf_counter() - t0
    if args.out and result is not None:
        try:
            result.write(args.out, force=args.force)
        except ConfigError:
            raise
        except OSError as exc:
            raise ConfigError(args.out, "", f"cannot write the run directory ({exc.strerror or exc})") from None
    if args.json:
        from simsched.result import dumps

        print(dumps(summary))
    else:
        print(format_summary(summary))
        print(f"simulated {summary['sim_end_ms'] / 1000:g} s in {wall:.2f} s wall time", file=sys.stderr)
        if args.out:
            print(f"run directory: {args.out}")
        else:
            print("(add --out DIR to keep the run's tables)", file=sys.stderr)
    if args.check:
        from simsched.invariants import check_invariants

        if result is None:  # a streamed run: the tables are on disk
            from simsched.report import read_run

            result = read_run(args.out)
        problems = check_invariants(result)
        for line in problems:
            print(f"invariant violated: {line}", file=sys.stderr)
        if problems:
            return EXIT_FAIL
        print("invariants: ok", file=sys.stderr)
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from simsched.config.loader import read_yaml
    from simsched.config.paths import shipped, shipped_names
    from simsched.policies.base import available_governors, available_policies, describe_params, governor_class, policy_class

    if args.what in ("platforms", "workloads"):
        for name in shipped_names(args.what):
            data = read_yaml(shipped(args.what, name))  # type: ignore[arg-type]
            desc = str(data.get("description", "")).strip().splitlines() if isinstance(data, dict) else []
            extra = f" (for {data['platform']})" if args.what == "workloads" and isinstance(data, dict) and data.get("platform") else ""
            print(f"{name:24s} {desc[0] if desc else ''}{extra}")
        return EXIT_OK
    names = available_policies() if args.what == "policies" else available_governors()
    get = policy_class if args.what == "policies" else governor_class
    for name in names:
        cls = get(name)
        doc = (cls.__doc__ or "").strip().splitlines()
        print(f"{name:18s} {doc[0] if doc else ''}")
        if getattr(args, "verbose", False):
            rows = describe_params(cls)
            if rows is None:
                print("    parameters: not declared (checked against the constructor's signature)")
            elif not rows:
                print("    parameters: none")
            for pname, typ, default, desc in rows or ():
                print(f"    {pname}: {typ} = {default}  {desc}".rstrip())
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from simsched.build import validate
    from simsched.config.loader import load_config, read_yaml, validate_part

    data = read_yaml(args.config)
    if isinstance(data, dict) and "domains" in data and "duration_ms" not in data:
        spec = validate_part("platforms", data, args.config)
        print(f"ok: platform {spec.name}: {len(spec.processors)} processors, {len(spec.models)} models")
        return EXIT_OK
    if isinstance(data, dict) and "apps" in data and "duration_ms" not in data:
        spec = validate_part("workloads", data, args.config)
        print(f"ok: workload {spec.name}: {len(spec.apps)} apps")
        return EXIT_OK
    loaded = load_config(args.config, args.set)
    validate(loaded)  # the policy, governor, parameters, budget and power mode
    s = loaded.spec
    print(f"ok: {s.platform.name} / {s.workload.name} / {s.policy.name}, {s.duration_ms:g} ms, seed {s.seed}")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from simsched.build import experiment_schema

    print(json.dumps(experiment_schema(), indent=2, sort_keys=True))
    return EXIT_OK


def _fmt(x: Any, name: str, decimals: int = 2, sig: int = 3) -> str:
    """A summary value in its display unit (the catalogue's scale), magnitude-aware."""
    from simsched.metrics.catalogue import metric
    from simsched.report.format import fmt_num

    if x is None:
        return "-"
    return fmt_num(x * metric(name).scale, sig, decimals=decimals)


def format_summary(summary: dict[str, Any]) -> str:
    """The human-readable summary table printed by ``simsched run``."""
    lines = [
        f"{summary['platform']} | {summary['workload']} | policy {summary['policy']}"
        + (f" + {summary['governor']}" if summary.get("governor") else "")
        + f" | mode {summary.get('power_mode') or '-'} | seed {summary['seed']} | {summary['sim_end_ms'] / 1000:g} s",
        "",
        f"{'app':22s} {'jobs':>6s} {'done':>6s} {'drop':>5s} {'mean':>8s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'miss%':>6s}",
    ]
    rows = [*summary["apps"].items(), ("(all)", summary["overall"])]
    for name, m in rows:
        lines.append(
            f"{name[:22]:22s} {m['jobs_arrived']:6d} {m['jobs_finished']:6d} {m['jobs_dropped']:5d} "
            + " ".join(f"{_fmt(m[f'latency_{q}_ms'], f'latency_{q}_ms'):>8s}" for q in ("mean", "p50", "p95", "p99"))
            + f" {_fmt(m['deadline_miss_rate'], 'deadline_miss_rate', 1):>6s}"
        )
    lines.append("(latencies in ms over finished jobs; miss% counts late, dropped and overdue jobs)")
    llm = [(n, m) for n, m in summary["apps"].items() if m.get("llm_requests")]
    if llm:
        lines += ["", f"{'LLM app':22s} {'reqs':>6s} {'TTFT':>8s} {'TTFTp95':>8s} {'TPOT':>8s} {'tok/s':>8s}"]
        for name, m in llm:
            lines.append(
                f"{name[:22]:22s} {m['llm_requests']:6d} {_fmt(m['ttft_mean_ms'], 'ttft_mean_ms'):>8s} "
                f"{_fmt(m['ttft_p95_ms'], 'ttft_p95_ms'):>8s} {_fmt(m['tpot_mean_ms'], 'tpot_mean_ms'):>8s} "
                f"{_fmt(m['tokens_per_s_mean'], 'tokens_per_s_mean', 1):>8s}"
            )
    budget = summary.get("budget_w")
    lines += [
        "",
        f"energy {_fmt(summary['energy_mj'], 'energy_mj', 3)} J | avg power {_fmt(summary['avg_power_w'], 'avg_power_w')} W | "
        f"peak {_fmt(summary['peak_power_w'], 'peak_power_w')} W | budget {_fmt(budget, 'budget_w') if budget else 'none'}"
        + (f" | over budget {_fmt(summary['time_over_budget_ms'], 'time_over_budget_ms', 1)} ms" if budget else ""),
        "utilisation: " + ", ".join(f"{p} {_fmt(u, 'utilization', 0, 2)}%" for p, u in summary["utilization"].items()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
