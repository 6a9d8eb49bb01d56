"""``v2m-bridge send ADDRESS ARGS... [--wait [SECONDS]]``: one OSC message to the daemon.

Exit codes: 0 sent (or, with ``--wait``, the expected reply came and is printed on stdout),
1 the daemon answered ``/v2m/error`` (printed on stdout, explained on stderr) or the request was
invalid, 2 no answer in time or nothing listening. Progress and status messages received while
waiting go to stderr.

Also runnable as ``python -m v2m_bridge.cli.send ADDRESS ARGS...``, which skips loading the
other commands.
"""

from __future__ import annotations

import argparse
import sys

from v2m_bridge.errors import V2MError

DEFAULT_WAIT_S = 10.0
EXIT_OK, EXIT_ERROR_REPLY, EXIT_NO_ANSWER = 0, 1, 2

_EPILOG = """\
argument types: i:3 is an int, f:1.5 a float, s:text a string; without a prefix a whole number
is an int, a decimal number (1.5, 1e3) a float and anything else a string. Put -- before
arguments that start with '-' and are not numbers.

requests and the reply --wait waits for (v2m_bridge/osc/protocol.py):
{requests}

examples:
  v2m-bridge send /v2m/video/open "/films/My Film.mov" f:12.5 --wait 600
  v2m-bridge send /v2m/render /films/cue.mid --wait
  v2m-bridge send /v2m/seed 7
"""


def _epilog() -> str:
    from v2m_bridge.osc.protocol import help_text

    return _EPILOG.format(requests=help_text())


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "send", help="send one OSC message to the daemon, optionally wait for its reply",
        description="Send ADDRESS with typed ARGS to a running `v2m-bridge serve` (for scripts "
        "that cannot send UDP themselves, such as Reaper's). Exit 0 on success or the expected "
        "reply, 1 on /v2m/error, 2 when no reply came in time.",
        epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(func=run_send)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from v2m_bridge.config import DEFAULT_HOST, DEFAULT_PORT

    parser.add_argument("address", metavar="ADDRESS", help="OSC address, e.g. /v2m/render")
    parser.add_argument("values", nargs="*", metavar="ARGS", help="arguments (see below)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="daemon host (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="daemon OSC port (default: %(default)s)")
    parser.add_argument("--wait", nargs="?", const=str(DEFAULT_WAIT_S), default=None,
                        metavar="SECONDS", help="wait for the reply, at most SECONDS "
                        f"(default {DEFAULT_WAIT_S:g} when given without a number)")
    parser.add_argument("--expect", metavar="REPLY_ADDRESS",
                        help="with --wait: the reply address that completes the request "
                        "(default: the daemon's usual reply, see below)")
    parser.add_argument("--listen-port", type=int, default=0, metavar="PORT",
                        help="local port to send from and listen on (default: any free port; "
                        "use the daemon's --reply-port if it was started with one)")


def _wait_seconds(args: argparse.Namespace) -> float | None:
    """``--wait`` as seconds; repairs ``--wait /address ...``, where argparse took the address
    for the optional number."""
    from v2m_bridge.osc.client import SendError

    if args.wait is None:
        return None
    try:
        return float(args.wait)
    except ValueError:
        if not args.wait.startswith("/"):
            raise SendError(f"--wait expects a number of seconds, got {args.wait!r}") from None
    args.values = [args.address, *args.values]
    args.address = args.wait
    return DEFAULT_WAIT_S


def run_send(args: argparse.Namespace) -> int:
    from v2m_bridge.osc.client import parse_argument, send_message

    wait_s = _wait_seconds(args)
    values = [parse_argument(text) for text in args.values]

    def show_news(reply) -> None:
        if reply.address == "/v2m/progress" and len(reply.args) == 2:
            stage, fraction = reply.args
            print(f"progress: {stage} {100 * float(fraction):.0f}%", file=sys.stderr, flush=True)
        else:
            print(f"received: {reply}", file=sys.stderr, flush=True)

    outcome = send_message(args.host, args.port, args.address, values, wait_s=wait_s,
                           expect=args.expect, listen_port=args.listen_port,
                           on_message=show_news)
    if outcome.reply is not None:
        print(outcome.reply, flush=True)
    if outcome.status == "reply":
        return EXIT_OK
    if outcome.status == "error":
        print(f"v2m-bridge send: the daemon refused {args.address}: {outcome.detail}",
              file=sys.stderr)
        return EXIT_ERROR_REPLY
    print(f"v2m-bridge send: {outcome.detail}", file=sys.stderr)
    return EXIT_NO_ANSWER


def main(argv: list[str] | None = None) -> int:
    """``python -m v2m_bridge.cli.send``: the send command without the other commands' imports."""
    parser = argparse.ArgumentParser(prog="v2m-bridge send", epilog=_epilog(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_send(args)
    except V2MError as err:
        print(f"v2m-bridge send: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
