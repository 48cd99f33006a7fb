"""Command line: parse arguments, pick a source, run the pipeline, choose a reporter.

Exit codes: 0 done (whatever the run's status), 2 bad usage, an unreadable source or an output that
cannot be written (including a refused API key or an unknown run), 3 the API could not be reached or
kept failing (try again later), 4 the bundle's redaction check refused, 1 an internal error (a bug:
please report it).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from debugkit import __version__, allocator, forked
from debugkit.allocator import return_freed_memory
from debugkit.errors import DebugkitError, UsageError

if TYPE_CHECKING:
    from debugkit._api import Triage
    from debugkit.pipeline import Locate

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

    api = _Parser(add_help=False)
    group = api.add_argument_group("Skyvern API")
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="the Skyvern server (default: $SKYVERN_BASE_URL, else https://api.skyvern.com; "
        "a self-hosted one is usually http://localhost:8000)",
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help="API key (default: $SKYVERN_API_KEY; prefer the variable: a flag shows in the process list)",
    )
    group.add_argument(
        "--concurrency", type=_positive_int, metavar="N",
        help="requests at once over one connection pool (default 16; runs: 8 runs at once)",
    )

    cached = _Parser(add_help=False)
    cache = cached.add_argument_group("run ids (fetched into a local cache)")
    cache.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where fetched runs are kept (default: $DEBUGKIT_CACHE_DIR, else ~/.cache/debugkit)",
    )
    cache.add_argument("--refresh", action="store_true", help="download the run again even if it is cached")
    cache.add_argument("--quiet", action="store_true", help="no progress bar")
    _wait_options(cache)

    source = _Parser(add_help=False, parents=[cached])
    source.add_argument("source", metavar="SOURCE", help="run id, run folder, local storage folder, or archive ZIP")
    source.add_argument(
        "--no-redact",
        action="store_true",
        help="show secrets (typed passwords, cookies, tokens) as they are; redacted by default",
    )
    source.add_argument(
        "--no-render",
        action="store_true",
        help="do not re-render the page in headless Chromium to place elements on the screenshots",
    )
    source_help = (
        "SOURCE is a run id (tsk_..., wr_..., tsk_v2_...: fetched through the API into a local cache "
        "first), a run folder (run.json, steps.json, artifacts.json, files/), Skyvern's local storage "
        "tree for a task (folders like 00_0_stp_...), or a step_archive / task_archive ZIP."
    )

    triage = commands.add_parser(
        "triage",
        parents=[source, api],
        help="explain why a run failed",
        description="Explain why a Skyvern run failed, with the evidence. " + source_help,
    )
    triage.add_argument("--json", action="store_true", help="print the debugkit.triage/1 JSON document only")
    triage.add_argument(
        "--full",
        action="store_true",
        help="with --json: list every request and console line of each step and action (default: the failed "
        "requests and console errors and warnings, with counts)",
    )
    triage.add_argument(
        "--step",
        metavar="STEP",
        help="focus on one step: a step id (stp_...), an order (2: its latest retry) or order.retry (2.1)",
    )
    triage.add_argument("--no-color", action="store_true", help="no colours (also off when not a terminal)")
    triage.add_argument("--steps", action="store_true", help="also show a table of every step and its actions")

    report = commands.add_parser(
        "report",
        parents=[source, api],
        help="write a single-file HTML report",
        description="Write one self-contained HTML file that tells the run's story: verdict and evidence, "
        "steps, action cards, screenshots, network. " + source_help,
    )
    report.add_argument(
        "-o", "--output", metavar="FILE", help="the HTML file to write (default: ./debugkit-<run id>.html)"
    )
    report.add_argument("--step", metavar="STEP", help="only this step: a step id, an order (2) or order.retry (2.1)")

    bundle = commands.add_parser(
        "bundle",
        parents=[source, api],
        help="write a redacted support-ticket ZIP",
        description="Write one ZIP to attach to a support ticket: report.html, triage.json, summary.md, "
        "the redacted HAR and the decisive step's files, with manifest.json. Secrets are redacted "
        "and the result is checked: if any collected secret remains, nothing is written. " + source_help,
    )
    bundle.add_argument("-o", "--output", metavar="FILE", required=True, help="the ZIP file to write")
    bundle.add_argument(
        "--max-size",
        type=float,
        default=20,
        metavar="MB",
        help="size cap in MB (default 20): screenshots are scaled, then the least important members dropped",
    )

    annotate = commands.add_parser(
        "annotate",
        parents=[source, api],
        help="draw numbered element boxes on a step's screenshots",
        description="Write a step's screenshots (what the model saw) with every interactable element's box "
        "and number drawn, the chosen ones emphasised: exact boxes solid, re-rendered (approximate) ones "
        "dashed. " + source_help,
    )
    annotate.add_argument("--step", metavar="STEP", required=True, help="a step id, an order (2) or order.retry (2.1)")
    annotate.add_argument("-o", "--output", metavar="DIR", required=True, help="the folder to write the PNGs to")
    annotate.add_argument("--chosen-only", action="store_true", help="draw only the elements the model chose")

    runs = commands.add_parser(
        "runs",
        parents=[cached, api],
        help="triage the last day's failed runs, grouped by cause",
        description="Fleet triage: list runs through the API (GET /v1/runs, newest first), triage each one "
        "through the same cache as `triage RUN_ID` (several at once, redaction on), and group them by cause, "
        "then by failure signature (the failing request's method, host and path template; the element; the "
        "exception), biggest group first. Elements are not located on screenshots: no Chromium is needed. "
        "With PATH, the runs are read from disk instead: a folder of run folders, storage trees or archives.",
    )
    runs.add_argument("path", nargs="?", metavar="PATH", help="offline: a folder of runs (no API)")
    runs.add_argument(
        "--status",
        metavar="S,S",
        help="run statuses, comma-separated (default: failed,terminated,timed_out; offline: any)",
    )
    runs.add_argument(
        "--since",
        metavar="WHEN",
        help="runs created since: 24h, 90m, 7d, or an ISO date/time (default 24h; offline: any time)",
    )
    runs.add_argument("--limit", type=int, default=200, metavar="N", help="at most N runs, the newest (200)")
    runs.add_argument("--workflow", metavar="WPID", help="only runs of this workflow (wpid_...)")
    runs.add_argument("--json", action="store_true", help="print the debugkit.fleet/1 JSON document only")
    runs.add_argument("--jsonl", metavar="FILE", help="also write one triage row per run, a JSON object a line")
    runs.add_argument("--html", metavar="FILE", help="also write a self-contained overview page")
    runs.add_argument("--reports", metavar="DIR", help="also write each run's HTML report there (linked from --html)")

    serve = commands.add_parser(
        "serve",
        parents=[api],
        help="triage every failed run the moment Skyvern reports it (webhook server)",
        description="Run a webhook server for Skyvern's webhook_url: each delivery is checked against "
        "SKYVERN_API_KEY (x-skyvern-signature), answered at once, and every failed, terminated or timed-out "
        "run is fetched and triaged in the background into DIR/<run_id>/ (triage.json, report.html, "
        "ticket.zip). GET / lists the runs. Needs the serve extra: pip install 'debugkit[serve]'.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8765, help="the port (default 8765; 0 picks a free one)")
    serve.add_argument("--out", metavar="DIR", required=True, help="where triages and the server's state are kept")
    serve.add_argument("--cache-dir", metavar="DIR", help="where fetched runs are kept (as for triage RUN_ID)")
    serve.add_argument("--workers", type=_positive_int, default=2, metavar="N", help="runs triaged at once (2)")
    serve.add_argument(
        "--queue", type=_count, default=64, metavar="N",
        help="runs that may wait for a worker (64); beyond, deliveries get 503 and Skyvern delivers again",
    )
    serve.add_argument(
        "--max-age", type=_seconds_age, default=300.0, metavar="SECONDS",
        help="refuse a delivery whose x-skyvern-timestamp is further than this from now (default 300)",
    )
    serve.add_argument(
        "--max-body", type=_count, default=1024 * 1024, metavar="BYTES",
        help="refuse a delivery body over this size with 413 (default 1048576)",
    )
    serve.add_argument("--no-render", action="store_true", help="never start Chromium to place elements")
    _wait_options(serve)

    fetch = commands.add_parser(
        "fetch",
        parents=[api],
        help="download a run through the API into a run folder",
        description="Download a run's documents and artifacts through the Skyvern API into a run "
        "folder that triage reads offline. An interrupted fetch resumes: only what is missing is "
        "downloaded.",
    )
    fetch.add_argument("run_id", metavar="RUN_ID", help="tsk_..., wr_... or tsk_v2_...")
    fetch.add_argument("-o", "--output", metavar="DIR", help="the run folder to write (default: ./RUN_ID)")
    fetch.add_argument("--step", metavar="STEP", help="only this step's artifacts (plus the run-level HAR and log)")
    fetch.add_argument(
        "--types",
        metavar="T,T",
        help="artifact types to download, comma-separated (default: what triage, report and bundle need)",
    )
    fetch.add_argument("--all", action="store_true", help="download every artifact type")
    fetch.add_argument("--refresh", action="store_true", help="download everything again")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    _wait_options(fetch)
    fetch.add_argument("--json", action="store_true", help="print a JSON summary of the fetch on stdout")
    return parser


def _wait_options(parser) -> None:
    parser.add_argument(
        "--wait",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="right after a run ends, wait up to this long for the HAR and console log Skyvern writes when "
        "the browser closes (default 30, with a countdown)",
    )
    parser.add_argument("--no-wait", action="store_true", help="do not wait for them (same as --wait 0)")


def _wait_seconds(args: argparse.Namespace) -> float:
    return 0.0 if args.no_wait else args.wait


def _bounded(convert: Callable[[str], float], low: float, high: float, noun: str) -> Callable[[str], float]:
    """An argparse type: ``convert(text)`` between ``low`` and ``high``, else one line saying why."""

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return value

    return parse


_seconds = _bounded(float, 0, 600, "a number of seconds")  # --wait
_positive_int = _bounded(int, 1, 64, "a whole number")  # --concurrency, --workers
_port = _bounded(int, 0, 65535, "a port number")
_count = _bounded(int, 1, 1 << 30, "a whole number")  # --queue, --max-body
_seconds_age = _bounded(float, 1, 7 * 24 * 3600, "a number of seconds")  # --max-age


def run() -> None:
    """The ``debugkit`` command: :func:`main`, then out at once. The output is flushed and the exit handlers run
    (the browser is closed by then), but the interpreter does not free the run's objects one by one on the way
    out (about 0.03 s on a 30,000-request run). ``main`` itself returns, for callers in-process."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: nothing more can be said
        pass
    atexit._run_exitfuncs()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return_freed_memory()
    # One run's long HAR parsed (and its rows redacted) in two processes; not for `runs` and `serve`, whose threads
    # work on several runs at once.
    forked.enable(args.command in ("triage", "report", "bundle", "annotate"))
    allocator.keep_what_is_read(args.command in ("triage", "report", "bundle", "annotate"))
    try:
        if args.command == "triage":
            return _triage(args)
        if args.command == "fetch":
            return _fetch(args)
        if args.command == "report":
            return _report(args)
        if args.command == "bundle":
            return _bundle(args)
        if args.command == "annotate":
            return _annotate(args)
        if args.command == "runs":
            return _runs(args)
        if args.command == "serve":
            return _serve(args)
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
    finally:
        _close_browser()
        forked.enable(False)  # main() called in-process (tests, a program) leaves no fork switched on
        allocator.keep_what_is_read(False)  # ... and nothing frozen by what it reads next
    return EXIT_USAGE  # pragma: no cover - argparse requires a command


def _close_browser() -> None:
    """No Chromium process or profile folder outlives the command (only when one was started)."""
    render = sys.modules.get("debugkit.locate.render")
    if render is not None:
        render.shutdown()


def _source_path(args: argparse.Namespace) -> Path:
    """The local source: the path given, or the cache folder of a run id (fetched when needed)."""
    if getattr(args, "source_path", None) is None:
        from debugkit._api import local_source

        quiet = args.quiet or getattr(args, "json", False)
        path, report = local_source(
            args.source, cache_dir=args.cache_dir, refresh=args.refresh, wait=_wait_seconds(args),
            base_url=args.base_url, api_key=args.api_key, concurrency=args.concurrency,
            fetch=lambda client, run_id, options: _run_fetch(client, run_id, options, quiet=quiet),
        )
        if report is not None and not quiet:
            for note in report.notes:
                sys.stderr.write(f"debugkit: note: {note}\n")
        args.source_path = path
    return args.source_path


def _output(args: argparse.Namespace, path: Path, *, folder: bool = False) -> Path:
    """Check an output path before any work: not inside or over the source, in an existing folder."""
    from debugkit.outputs import check_output

    sources = [Path(args.source)] if Path(args.source).exists() else []
    if getattr(args, "source_path", None) is not None:
        sources.append(args.source_path)
    check_output(path, sources, folder=folder)
    return path


def _open(args: argparse.Namespace, *, locate: Locate, step: str | None = None) -> Triage:
    """The source triaged by the API, redacted unless --no-redact, elements placed as ``locate`` says."""
    source = _source_path(args)
    if not args.no_render and locate != "none":
        # Chromium starts now, on the CPU the interpreter's imports leave idle, rather than once the source is open
        from debugkit.locate.render import warm_up

        warm_up()
    from debugkit._api import open_triage

    return open_triage(
        source, step=step, redact=not args.no_redact, locate=locate, render=not args.no_render, api_key=args.api_key,
    )


def _warn_no_redact(args: argparse.Namespace) -> None:
    if args.no_redact:
        sys.stderr.write("debugkit: warning: --no-redact: secrets in this run are shown as they are\n")


def _triage(args: argparse.Namespace) -> int:
    import orjson

    _warn_no_redact(args)
    # what is shown is located: the bounded --json document and the terminal show the decisive and the
    # failing action's steps in full; --full and --step show every (focused) step
    locate: Locate = "decisive" if not args.json else "all" if args.full or args.step else "shown"
    t = _open(args, step=args.step, locate=locate)
    render = sys.modules.get("debugkit.locate.render")
    if render is not None:
        render.close_soon()  # nothing more to render: Chromium closes while the output is written
    if args.json:
        document = t.to_json(full=args.full)
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
        sys.stdout.flush()
        return EXIT_OK
    from rich.console import Console  # the terminal's only (15 ms of a --json run's start)

    t.print(Console(no_color=args.no_color or None, highlight=False, soft_wrap=False), steps=args.steps)
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    _warn_no_redact(args)
    _source_path(args)
    if args.output:
        _output(args, Path(args.output))
    t = _open(args, step=args.step, locate="report")
    output = _output(args, Path(args.output or t.default_html_name()))
    written = t.write_html(output)
    if not args.quiet:
        sys.stderr.write(f"wrote {written.path} ({written.size / 1e6:.1f} MB)\n")
        _notes(written.notes)
    return EXIT_OK


def _notes(lines: list[str]) -> None:
    for line in lines:
        sys.stderr.write(f"debugkit: note: {line}\n")


def _mask_notes(masks) -> list[str]:
    """What the screenshot masks did, in a line (none when nothing was masked or left out)."""
    line = masks.summary() if masks is not None else None
    return [line] if line else []


def _bundle(args: argparse.Namespace) -> int:
    _warn_no_redact(args)
    if args.max_size <= 0:
        raise UsageError("--max-size must be above 0")
    _source_path(args)
    output = _output(args, Path(args.output))
    from debugkit.pipeline import read
    from debugkit.report.bundle import build_bundle

    # the bundle redacts, analyses and locates its own copy (salted for it alone) and checks it: the run is
    # read once and goes through the pipeline once (a triage beside it would hold a second copy in memory)
    source = read(Path(args.source_path), warm=not args.no_render)
    result = build_bundle(
        source.raw, source.run, output, redact=not args.no_redact, max_size=int(args.max_size * 1e6),
        api_keys=[args.api_key], render=not args.no_render,
    )
    if not args.quiet:
        redacted = sum(result.counts.values())
        what = "not redacted" if args.no_redact else f"{redacted} secret value(s) redacted"
        sys.stderr.write(
            f"wrote {result.path} ({result.size / 1e6:.1f} MB, {len(result.members)} files, {what}"
            + (f", {len(result.dropped)} dropped to fit" if result.dropped else "")
            + (f", {len(result.left_out)} left out (see manifest.json)" if result.left_out else "")
            + ")\n"
        )
        _notes(_mask_notes(result.masks))
    return EXIT_OK


def _annotate(args: argparse.Namespace) -> int:
    from debugkit.locate import describe, find_step

    _warn_no_redact(args)
    _source_path(args)
    output = _output(args, Path(args.output), folder=True)
    t = _open(args, locate="none")
    run = t.run
    step = find_step(run, args.step)
    masks = _mask(args, run, [step])
    written, locations = _annotate_into(output, run, step, args)
    if not written:
        left_out = masks.left_out if masks is not None else []
        why = f" (left out: {left_out[0].left_out})" if left_out else ""
        raise UsageError(f"step {step.label} has no readable screenshot_llm to draw on{why}")
    for path in written:
        sys.stdout.write(f"{path}\n")
    if not args.quiet:
        for action in step.actions:
            if action.element_id and action.element_id in locations:
                sys.stderr.write(f"  {action.element_id}: {describe(locations[action.element_id], step)}\n")
        _notes(_mask_notes(masks))
    return EXIT_OK


def _mask(args: argparse.Namespace, run, steps):
    """Mask the secret fields on the screenshots about to be written (not with --no-redact)."""
    if args.no_redact:
        return None
    from debugkit.redaction.masking import mask_run

    return mask_run(run, steps=steps, render=not args.no_render)


def _runs(args: argparse.Namespace) -> int:
    from debugkit.fleet.command import RunsOptions, run
    from debugkit.fleet.listing import parse_statuses

    if args.concurrency is None:  # runs: as many runs at once as connections (bench/fleet.py)
        args.concurrency = RunsOptions.concurrency
    options = RunsOptions(
        path=Path(args.path) if args.path else None,
        statuses=parse_statuses(args.status) if args.status is not None else None,
        since=args.since,
        limit=args.limit,
        workflow=args.workflow,
        json=args.json,
        jsonl=Path(args.jsonl) if args.jsonl else None,
        html=Path(args.html) if args.html else None,
        reports=Path(args.reports) if args.reports else None,
        quiet=args.quiet,
        cache_dir=args.cache_dir,
        refresh=args.refresh,
        concurrency=args.concurrency,
        wait_seconds=_wait_seconds(args),
    )
    return run(options, lambda: _client(args))


def _serve(args: argparse.Namespace) -> int:
    from debugkit.serve import ServeOptions, serve

    options = ServeOptions(
        out=Path(args.out),
        api_key=args.api_key or os.environ.get("SKYVERN_API_KEY") or None,
        host=args.host,
        port=args.port,
        base_url=args.base_url,
        cache_dir=args.cache_dir,
        workers=args.workers,
        queue=args.queue,
        max_body=args.max_body,
        max_age=args.max_age,
        wait_seconds=_wait_seconds(args),
        render=not args.no_render,
        concurrency=args.concurrency,
    )
    return serve(options)


def _annotate_into(output: Path, run, step, args: argparse.Namespace):
    """Draw into a temporary folder beside ``output``, then move each picture in with an atomic rename."""
    import shutil
    import tempfile

    from debugkit.locate import annotate_step
    from debugkit.outputs import make_folder

    make_folder(output)
    try:
        temp = Path(tempfile.mkdtemp(prefix=".debugkit-annotate.", dir=output))
    except OSError as exc:
        raise UsageError(f"cannot write into {output}: {exc.strerror or exc}") from None
    try:
        drawn, locations = annotate_step(
            run, step.step_id, temp, render=not args.no_render, include_all=not args.chosen_only
        )
        written = []
        for path in drawn:
            target = output / path.name
            try:
                os.replace(path, target)
            except OSError as exc:
                raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
            written.append(target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return written, locations


def _client(args: argparse.Namespace):
    from debugkit.api.client import ApiConfig, SkyvernClient

    config = ApiConfig.from_env(base_url=args.base_url, api_key=args.api_key, concurrency=args.concurrency)
    return SkyvernClient(config)


def _fetch(args: argparse.Namespace) -> int:
    from debugkit.api.fetch import DEFAULT_TYPES, FetchOptions

    if args.all and args.types:
        raise UsageError("--all and --types cannot be combined")
    types = None if args.all else DEFAULT_TYPES
    if args.types:
        types = frozenset(t.strip() for t in args.types.split(",") if t.strip())
    out_dir = Path(args.output or args.run_id)
    from debugkit.outputs import check_output

    check_output(out_dir, folder=True)
    options = FetchOptions(
        out_dir=out_dir, step=args.step, types=types, refresh=args.refresh, wait_seconds=_wait_seconds(args)
    )
    with _client(args) as client:
        report = _run_fetch(client, args.run_id, options, quiet=args.quiet or args.json)
    if args.json:
        sys.stdout.write(json.dumps(_fetch_summary(report), indent=2) + "\n")
    elif not args.quiet:
        _print_fetch_summary(report)
    return EXIT_OK


def _run_fetch(client, run_id: str, options, *, quiet: bool):
    from debugkit.api.fetch import fetch_run
    from debugkit.report.progress import FetchProgress

    with FetchProgress(enabled=not quiet and sys.stderr.isatty(), quiet=quiet) as progress:
        try:
            return fetch_run(
                client, run_id, options, on_total=progress.set_total, on_done=progress.advance, on_wait=progress.waiting
            )
        except OSError as exc:  # the folder cannot be written (permissions, a full disk, ...)
            raise UsageError(f"cannot write {options.out_dir}: {exc.strerror or exc}") from None


def _fetch_summary(report) -> dict:
    return {
        "schema": "debugkit.fetch-summary/1",
        "run_id": report.run_id,
        "folder": str(report.out_dir),
        "downloaded": report.count("ok"),
        "downloaded_bytes": report.downloaded_bytes,
        "cached": report.count("cached"),
        "from_archives": report.count("member"),
        "not_selected": report.count("skipped"),
        "unavailable": [
            {"artifact_id": o.artifact_id, "artifact_type": o.artifact_type, "status": o.status, "reason": o.reason}
            for o in report.outcomes
            if o.status in ("missing", "damaged", "archived")
        ],
        "notes": report.notes,
    }


def _print_fetch_summary(report) -> None:
    summary = _fetch_summary(report)
    size = summary["downloaded_bytes"] / 1e6
    sys.stderr.write(
        f"fetched {report.run_id} into {report.out_dir}: {summary['downloaded']} artifact(s) downloaded "
        f"({size:.1f} MB), {summary['cached']} already there, {summary['from_archives']} read from archives\n"
    )
    for item in summary["unavailable"]:
        sys.stderr.write(f"  {item['status']}: {item['artifact_type']} {item['artifact_id']}: {item['reason']}\n")
    for note in report.notes:
        sys.stderr.write(f"  note: {note}\n")
