"""The OSC protocol of ``v2m-bridge serve``: every address, its arguments and its reply, once.

Everything else is derived from :data:`MESSAGES`: the daemon's routes and their argument checks
(:mod:`v2m_bridge.daemon.routes`), the replies the client waits for
(:func:`v2m_bridge.osc.client.expected_reply`), the ``send`` command's help, and the README's OSC
table (``tests/test_protocol.py`` fails when the README and this table disagree). The live frame
layout (:data:`FRAME_FIELDS` and the optional vectors) is here too, for the daemon that reads
frames and the replay tool that writes them.

Argument types (checked and converted by :mod:`v2m_bridge.osc.arguments`): ``s`` text (an OSC
string or symbol; several strings in a row are joined with spaces, as Pd sends ``D minor``),
``i`` an integer (a whole float or double, or ``T``/``F`` for 1/0, is accepted), ``f`` a finite
number within float32's range (ints accepted). Every ``/v2m/*`` request is answered with its
reply or ``/v2m/error s:address s:message``.
"""

from __future__ import annotations

from dataclasses import dataclass

from v2m_bridge.features import EMOTION_DIM, SEMANTIC_DIM

V2M_PREFIX = "/v2m/"
OK = "/v2m/ok"
ERROR = "/v2m/error"
STATUS = "/v2m/status"
PROGRESS = "/v2m/progress"
READY = "/v2m/ready"
RENDER_DONE = "/v2m/render/done"
WARNING = "/v2m/warning"  # s:address s:message, before the reply: it worked, but look
CHORD = "/v2m/chord"
MATCH_EXCERPT = "/v2m/match/excerpt"
MATCH_DONE = "/v2m/match/done"
PACKET_SUBJECT = "(packet)"  # the error subject for a packet that did not parse
MAX_PACKET_BYTES = 8192  # a path, or a live frame with a 768-d vector, fits; bigger is refused

# --- the live frame (/v2m/live/frame) --------------------------------------------------------

FRAME_FIELDS = ("media_time", "luma", "motion", "r", "g", "b", "cut")
# argument count -> (has emotion, has semantic)
FRAME_LAYOUTS = {
    len(FRAME_FIELDS): (False, False),
    len(FRAME_FIELDS) + EMOTION_DIM: (True, False),
    len(FRAME_FIELDS) + SEMANTIC_DIM: (False, True),
    len(FRAME_FIELDS) + EMOTION_DIM + SEMANTIC_DIM: (True, True),
}
# How Max (and replay) flag a cut: motion at or above the threshold, never twice within the gap
# of media time. The Max patch holds the same numbers (tests/test_max_patch.py checks).
CUT_MOTION_THRESHOLD = 0.12
MIN_CUT_GAP_S = 0.5


@dataclass(frozen=True)
class Arg:
    """One argument: its type letter, its name, and whether it may be left out (an optional
    argument may only be followed by optional ones)."""

    kind: str
    name: str
    optional: bool = False

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Message:
    """One address the daemon accepts.

    ``reply`` is the address that completes a request (None: the daemon sends nothing back, or,
    for ``/v2m/live/frame``, only errors); ``reply_text`` is the README's description of it.
    ``signatures`` lists the accepted type strings; it is derived from ``args`` unless given.
    """

    address: str
    args: tuple[Arg, ...] = ()
    reply: str | None = OK
    reply_text: str = "`/v2m/ok s:address`"
    help: str = ""
    usage_suffix: str = ""  # more of the request's usage, e.g. the frame's optional vectors
    fixed_signatures: tuple[str, ...] | None = None

    @property
    def signatures(self) -> tuple[str, ...]:
        if self.fixed_signatures is not None:
            return self.fixed_signatures
        kinds = "".join(arg.kind for arg in self.args)
        required = sum(not arg.optional for arg in self.args)
        return tuple(kinds[:n] for n in range(required, len(kinds) + 1))

    @property
    def usage(self) -> str:
        """``/v2m/video/open s:path [f:timeline_offset]``: nested brackets for optional ones."""
        parts = [str(arg) for arg in self.args if not arg.optional]
        optional = [str(arg) for arg in self.args if arg.optional]
        tail = ""
        for text in reversed(optional):
            tail = f"[{text}{' ' + tail if tail else ''}]"
        return " ".join([self.address, *parts, *([tail] if tail else []),
                         *([self.usage_suffix] if self.usage_suffix else [])])

    @property
    def is_request(self) -> bool:
        return self.address.startswith(V2M_PREFIX)


def _f(name: str, optional: bool = False) -> Arg:
    return Arg("f", name, optional)


def _s(name: str) -> Arg:
    return Arg("s", name)


_FRAME_USAGE = f"[+ {EMOTION_DIM} emotion] [+ {SEMANTIC_DIM} semantic]"
_ANSWERED = "`/v2m/ok s:address` (used by the next open/regenerate)"
_ANSWERED_OPEN = ("`/v2m/ok s:address` (used by the next open; a regenerate keeps the opened "
                  "music's key and tempo)")

REQUESTS: tuple[Message, ...] = (
    Message("/v2m/hello", (_s("name"), Arg("i", "reply_port")), STATUS,
            "`/v2m/status`; then `/v2m/status` ~10 Hz", "register for replies and /v2m/status"),
    Message("/v2m/status", (), STATUS,
            "`/v2m/status s:transport f:pos f:bpm s:phase s:bar_beat` (bar_beat: \"13.2\" on "
            "the music's tempo map; `-` with nothing open)",
            "ask for /v2m/status now"),
    Message("/v2m/video/open", (_s("path"), _f("timeline_offset", True),
                                Arg("s", "tempo", True)), READY,
            "`/v2m/progress s:stage f:fraction` ..., then `/v2m/ready s:path f:duration` "
            "(after `/v2m/warning` if the video could only be read in part); "
            "`tempo` as in `/v2m/tempo`, for this video and the next ones",
            "analyse and compose; progress, then /v2m/ready",
            fixed_signatures=("s", "sf", "sfs", "sff")),
    Message("/v2m/key", (_s("key"),), help="key for the next open, or auto (the default): "
            "from the picture's valence and arousal",
            reply_text=_ANSWERED_OPEN),
    Message("/v2m/primer", (_s("chords"),), help="first chords", reply_text=_ANSWERED_OPEN),
    Message("/v2m/tempo", (_s("tempo"),), fixed_signatures=("s", "f"),
            help="BPM (a number or text), auto, 'auto map', 'auto 70:140', "
            "'auto map 70:140' (empty: the default, fitted to the cuts; when following Reaper, "
            "its tempo)", reply_text=_ANSWERED_OPEN + "; `auto` fits the "
            "tempo to the cuts, `map` lets it change gently (<= 10 %)"),
    Message("/v2m/rhythm", (_s("harmonic_rhythm"),), help="chords change every beat, half, "
            "bar or 2bars (and at cuts)", reply_text=_ANSWERED),
    Message("/v2m/emotion", (_s("name_or_curve"),), help="emotion or curve (empty: clear)",
            reply_text=_ANSWERED),
    Message("/v2m/seed", (Arg("i", "seed"),), help="random seed", reply_text=_ANSWERED),
    Message("/v2m/regenerate", (_f("start"), _f("end")), READY,
            "progress, then `/v2m/ready s:path f:duration i:first_bar i:last_bar` (the range "
            "snapped to bars and re-rolled after the chords before it; every chord outside kept)",
            "re-roll a media range (snapped to bars)"),
    Message("/v2m/render", (_s("out.mid"), Arg("i", "overwrite", True)), RENDER_DONE,
            "`/v2m/render/done s:path` (see Guarantees for where files go)",
            "write the composition as MIDI; overwrite 1 replaces a file it did not write"),
    Message("/v2m/match", (Arg("i", "top", True), Arg("s", "library", True)), MATCH_DONE,
            "progress, then per scene and rank `/v2m/match/excerpt i:scene f:start f:end i:rank "
            "s:excerpt_id f:score s:chords s:why` (media seconds), then `/v2m/match/done "
            "i:scenes s:label s:listing` (one tab-separated line per excerpt)",
            "rank library excerpts for each scene of the opened video (top 5; default library)"),
    Message("/v2m/use", (_s("excerpt_id"), _f("start"), _f("end")), READY,
            "progress, then `/v2m/ready` (the excerpt's chords over the media range, the rest "
            "kept)", "put a library excerpt's chords into a media range"),
    Message("/v2m/panic", (), help="end every sounding note",
            reply_text="`/v2m/ok` (every sounding note ended)"),
    Message("/v2m/transport/play", (_f("pos"), _f("rate", True)), help="play from pos",
            reply_text="`/v2m/ok` (the daemon's own clock)"),
    Message("/v2m/transport/stop", (), help="stop", reply_text="`/v2m/ok`"),
    Message("/v2m/transport/seek", (_f("pos"),), help="seek to pos", reply_text="`/v2m/ok`"),
    Message("/v2m/transport/follow", (Arg("i", "on"),),
            help="1: follow Reaper's transport (default), 0: ignore it, link: follow the "
            "Ableton Link session",
            reply_text="`/v2m/ok` (1: follow Reaper's feedback, 0: ignore it; `link` instead of "
            "a number: join and follow the Ableton Link session)",
            fixed_signatures=("i", "s")),
    Message("/v2m/live/start", (_f("latency_s", True), _f("timeout_s", True)),
            help="start a live session [latency_s [timeout_s]]",
            reply_text="`/v2m/ok` (defaults 0.1 s and 1 s); an error if a session runs"),
    Message("/v2m/live/frame", tuple(_f(name) for name in FRAME_FIELDS), None,
            "no reply unless it is wrong (errors at most 5 per second); registered clients get "
            "`/v2m/chord s:name f:media_time` for each chord planned",
            f"media_time luma motion r g b cut [emotion×{EMOTION_DIM}] [semantic×{SEMANTIC_DIM}]",
            usage_suffix=_FRAME_USAGE,
            fixed_signatures=tuple("f" * n for n in FRAME_LAYOUTS)),
    Message("/v2m/live/image", (_s("path"), _f("media_time")),
            help="CLIP features of a frame image",
            reply_text="`/v2m/ok` once CLIP has encoded it (needs CLIP weights)"),
    Message("/v2m/live/stop", (), help="end the live session",
            reply_text="`/v2m/ok` (every note ended; an opened video plays again)"),
)


def _feedback(address: str, value: str | None = None, flag: bool = False) -> Message:
    """Reaper's control-surface feedback: followed, never answered. A trigger (``flag``) may
    come bare or with a 0/1 value."""
    if flag:
        return Message(address, (_f("value", True),), None, "")
    return Message(address, (_f(value or "value"),), None, "")


# Reaper's feedback (reaper_scripts/v2m.ReaperOSC), bare or in bundles, in the README's order.
REAPER_FEEDBACK: tuple[Message, ...] = (
    _feedback("/play", flag=True),
    _feedback("/stop", flag=True),
    _feedback("/pause", flag=True),
    _feedback("/time", "pos"),
    _feedback("/repeat", flag=True),
    _feedback("/loop/start/time", "pos"),
    _feedback("/loop/end/time", "pos"),
    _feedback("/tempo/raw", "bpm"),
    _feedback("/playrate/raw", "rate"),
)

MESSAGES: dict[str, Message] = {m.address: m for m in (*REQUESTS, *REAPER_FEEDBACK)}


def expected_replies() -> dict[str, str]:
    """The reply that completes each request that has one."""
    return {m.address: m.reply for m in REQUESTS if m.reply is not None}


def markdown_table() -> str:
    """The README's request/reply table."""
    rows = ["| request | reply |", "|---|---|"]
    rows += [f"| `{m.usage}` | {m.reply_text} |" for m in REQUESTS]
    return "\n".join(rows)


def help_text() -> str:
    """Requests and their replies, for ``v2m-bridge send --help``."""
    width = max(len(m.usage) for m in REQUESTS if m.usage_suffix == "")
    lines = []
    for m in REQUESTS:
        answer = m.reply or "nothing (errors only)"
        lines.append(f"  {m.usage:<{width}}  -> {answer}")
    return "\n".join(lines)
