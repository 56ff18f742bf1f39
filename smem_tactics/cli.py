"""The ``smem-tactics`` command line (also ``python -m smem_tactics``).

Each sub-command lives in ``smem_tactics/commands/<name>.py`` and defines ``register(subparsers)``
(adds its parser and sets ``func``) and the function it runs. Commands are imported only when the
CLI starts, and frameworks only when a command needs them.

Every :class:`~smem_tactics.errors.SmemTacticsError` (and ``ValueError`` from bad input) becomes a
one-line ``error: ...`` on stderr and exit code 2; a user never sees a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

from .errors import SmemTacticsError

#: Sub-command modules under smem_tactics.commands, in help order.
COMMANDS = ("footprint", "verify", "tactics", "doctor", "table", "synthesize", "emit")

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in our format (still exit code 2)."""

    def error(self, message: str):  # noqa: D401 -- argparse API
        self.print_usage(sys.stderr)
        raise SystemExit(f"error: {message}")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="smem-tactics", description=(
        "Exact shared-memory footprints of CUTLASS grouped GEMM kernels: verdicts against a GPU, the oracle that "
        "proves them, MoE tactic pruning and SM12x config synthesis."))
    parser.add_argument("--version", action="version", version=f"smem-tactics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name}", __package__)
        except ModuleNotFoundError as e:
            if e.name == f"{__package__}.commands.{name}":
                continue  # command not shipped in this build
            raise
        module.register(sub)
    return parser


def run_reporting_errors(func, *args) -> int:
    """``func(*args)`` as a command: bad input (our errors, ValueError, OSError) becomes one ``error: ...`` line and
    exit code 2, never a traceback. The CLI and the scripts in ``scripts/`` run their work through this."""
    try:
        return int(func(*args) or 0)
    except SmemTacticsError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and closed: not an error (an OSError, so caught first)
        return EXIT_OK
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    return run_reporting_errors(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
