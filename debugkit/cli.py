"""Command line: parse arguments, pick a source, run the pipeline, choose a reporter.

Exit codes: 0 analysed (whatever the run's status), 2 bad usage or unreadable source,
1 an internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from debugkit import __version__
from debugkit.errors import DebugkitError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, like every other usage error
        self.print_usage(sys.stderr)
        sys.stderr.write(f"debugkit: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="debugkit",
        description="Tells you why a Skyvern run failed: for each action, the element the model chose, "
        "what it really was, what happened, and which requests failed around it.",
    )
    parser.add_argument("--version", action="version", version=f"debugkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    triage = commands.add_parser(
        "triage",
        help="explain why a run failed",
        description="Explain why a Skyvern run failed, with the evidence. SOURCE is a run folder "
        "(run.json, steps.json, artifacts.json, files/), Skyvern's local storage tree for a task "
        "(folders like 00_0_stp_...), or a step_archive / task_archive ZIP.",
    )
    triage.add_argument("source", metavar="SOURCE", help="run folder, local storage folder, or archive ZIP")
    triage.add_argument("--json", action="store_true", help="print the debugkit.triage/1 JSON document only")
    triage.add_argument(
        "--step",
        metavar="STEP",
        help="focus on one step: a step id (stp_...), an order (2: its latest retry) or order.retry (2.1)",
    )
    triage.add_argument("--no-color", action="store_true", help="no colours (also off when not a terminal)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "triage":
            return _triage(args)
    except DebugkitError as exc:
        sys.stderr.write(f"debugkit: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("debugkit: interrupted\n")
        return 130
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("DEBUGKIT_DEBUG"):
            raise
        sys.stderr.write(
            f"debugkit: internal error: {type(exc).__name__}: {exc} "
            "(set DEBUGKIT_DEBUG=1 for the traceback, and please report it)\n"
        )
        return EXIT_INTERNAL
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def _triage(args: argparse.Namespace) -> int:
    from rich.console import Console

    from debugkit.analysis.triage import analyse
    from debugkit.load import load_run
    from debugkit.report.json_report import triage_document
    from debugkit.report.terminal import render
    from debugkit.sources import open_source

    raw = open_source(args.source)
    triage = analyse(load_run(raw), step=args.step)
    if args.json:
        sys.stdout.write(json.dumps(triage_document(triage), indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    console = Console(no_color=args.no_color or None, highlight=False, soft_wrap=False)
    render(triage, console)
    return EXIT_OK
