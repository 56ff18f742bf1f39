"""The ``smem-tactics`` command line (also ``python -m smem_tactics``).

Each sub-command lives in ``smem_tactics/commands/<name>.py`` and defines ``register(subparsers)``
(adds its parser and sets ``func``) and the function it runs. Commands are imported only when the
CLI starts, and frameworks only when a command needs them.

The input contract (exit codes, the ``error:`` line, resource bounds) is :mod:`smem_tactics.contract`: every
:class:`~smem_tactics.errors.SmemTacticsError` becomes a one-line ``error: ...`` on stderr and exit code 2, a
usage error too; a bug in smem_tactics is exit code 3 with one line (``SMEM_TACTICS_DEBUG=1`` shows the
traceback). A user never sees a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Optional, Sequence

from .contract import EXIT_BUG, EXIT_NEGATIVE, EXIT_OK, EXIT_USAGE
from .errors import SmemTacticsError

#: Sub-command modules under smem_tactics.commands, in help order.
COMMANDS = ("footprint", "verify", "tactics", "blocklist", "doctor", "table", "synthesize", "emit", "compile_facts",
            "triton", "triton-configs")



class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in our format (still exit code 2)."""

    def error(self, message: str):  # noqa: D401 -- argparse API
        print(f"error: {message} (usage: {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="smem-tactics", description=(
        "Exact shared-memory footprints of CUTLASS grouped GEMM kernels: verdicts against a GPU, the oracle that "
        "proves them, MoE tactic pruning and SM12x config synthesis."))
    parser.add_argument("--version", action="version", version=f"smem-tactics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".commands.{name.replace('-', '_')}", __package__)
        except ModuleNotFoundError as e:
            if e.name == f"{__package__}.commands.{name.replace('-', '_')}":
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
    except (RecursionError, MemoryError) as e:
        print(f"error: the input is too large or too deeply nested to answer ({type(e).__name__})", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:  # a bug of ours: one line, never a traceback (unless asked for)
        if os.environ.get("SMEM_TACTICS_DEBUG"):
            raise
        print(f"internal error: {type(e).__name__}: {e} (a bug in smem_tactics; SMEM_TACTICS_DEBUG=1 shows the "
              "traceback)", file=sys.stderr)
        return EXIT_BUG


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help/--version (0) or a usage error (2, its error line already printed)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        print(f"error: no command given; one of: {', '.join(c.replace('_', '-') for c in COMMANDS)}\n",
              file=sys.stderr)
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return run_reporting_errors(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
