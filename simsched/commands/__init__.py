"""Further CLI subcommands: each module here defines ``register(subparsers)``.

The command handlers follow cli.py's convention: ``args.func(args) -> exit code``,
raising ConfigError for bad input (exit 2) and SimschedError for failures (exit 1).
"""
