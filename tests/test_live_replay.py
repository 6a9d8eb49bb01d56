"""``replay_video`` and ``v2m-bridge replay``: what reaches a (fake) daemon, in which order, at
which pace; refused starts, missing daemons, daemon errors, Ctrl-C, CLI exits."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from fake_osc_daemon import closed_port
from pythonosc.osc_message import OscMessage

from v2m_bridge.cli import main as v2m_main
from v2m_bridge.osc.frame_features import FrameFeatures, iter_video_frame_features
from v2m_bridge.osc.replay import ReplayError, replay_features, replay_video
from v2m_bridge.osc.wire import osc_message

START, FRAME, STOP = "/v2m/live/start", "/v2m/live/frame", "/v2m/live/stop"


class FakeLiveDaemon:
    """One UDP socket read by one thread, so messages are recorded in arrival order with their
    arrival time; answers start/stop like the daemon (or with ``start_error``), and frames with
    an error when ``frame_error`` is set."""

    def __init__(self, start_error: str | None = None, frame_error: str | None = None) -> None:
        self.start_error = start_error
        self.frame_error = frame_error
        self.received: list[tuple[float, str, tuple]] = []
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.02)
        self.port = self.socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self.socket.recvfrom(65536)
            except TimeoutError:
                continue
            arrival = time.monotonic()
            message = OscMessage(data)
            self.received.append((arrival, message.address, tuple(message.params)))
            reply = self._reply(message.address)
            if reply is not None:
                self.socket.sendto(osc_message(*reply).dgram, sender)

    def _reply(self, address: str) -> tuple | None:
        if address == START and self.start_error:
            return ("/v2m/error", START, self.start_error)
        if address in (START, STOP):
            return ("/v2m/ok", address)
        if address == FRAME and self.frame_error:
            return ("/v2m/error", FRAME, self.frame_error)
        return None

    def wait_for(self, address: str, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(a == address for _, a, _ in self.received):
                return
            time.sleep(0.005)

    def addresses(self) -> list[str]:
        return [address for _, address, _ in self.received]

    def __enter__(self) -> FakeLiveDaemon:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.socket.close()


@pytest.fixture
def montage(videos):
    return videos / "montage_cc0_4shots.mp4"


def frame_features(n: int, fps: float = 25.0) -> list[FrameFeatures]:
    return [FrameFeatures(i / fps, 0.5, 0.0, 0.4, 0.5, 0.6, 0.0) for i in range(n)]


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps (or ``advance``)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_start_frames_stop_arrive_in_order_with_the_video_features(montage):
    with FakeLiveDaemon() as daemon:
        summary = replay_video(montage, ("127.0.0.1", daemon.port), latency=0.25, timeout=2.0,
                               speed=20, max_seconds=1.0, confirm_s=2.0)
    expected = list(iter_video_frame_features(montage, max_seconds=1.0))
    addresses = daemon.addresses()
    assert addresses == [START] + [FRAME] * len(expected) + [STOP]
    assert daemon.received[0][2] == (0.25, 2.0)
    frames = [args for _, address, args in daemon.received if address == FRAME]
    for args, features in zip(frames, expected, strict=True):
        assert args == pytest.approx(features.as_osc_args(), rel=1e-6, abs=1e-7)  # float32
        assert all(isinstance(value, float) for value in args)
    times = [args[0] for args in frames]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert (summary.frames_sent, summary.error_count) == (len(expected), 0)
    assert summary.media_seconds == pytest.approx(expected[-1].media_time)
    assert summary.stop_acknowledged is True


def test_replaying_2_seconds_at_speed_4_takes_about_half_a_second(montage):
    with FakeLiveDaemon() as daemon:
        began = time.monotonic()
        summary = replay_video(montage, ("127.0.0.1", daemon.port), speed=4, max_seconds=2.0)
        elapsed = time.monotonic() - began
        daemon.wait_for(STOP)
    assert 0.8 * 0.5 <= elapsed <= 1.5 * 0.5
    arrivals = [(arrival, args[0]) for arrival, address, args in daemon.received
                if address == FRAME]
    span = arrivals[-1][0] - arrivals[0][0]
    assert span == pytest.approx((arrivals[-1][1] - arrivals[0][1]) / 4, rel=0.1)
    assert summary.max_lateness_s < 0.1


def test_each_frame_is_due_at_start_plus_media_time_over_speed():
    clock = FakeClock()
    sent_at: list[float] = []
    with FakeLiveDaemon() as daemon:
        summary = replay_features(frame_features(11, fps=10), ("127.0.0.1", daemon.port),
                                  speed=2.0, progress=lambda frame: sent_at.append(clock()),
                                  clock=clock, sleep=clock.sleep)
    assert [t - sent_at[0] for t in sent_at] == pytest.approx([i * 0.05 for i in range(11)])
    assert summary.wall_seconds == pytest.approx(0.5)
    assert summary.max_lateness_s == 0.0


def test_late_frames_are_sent_at_once_and_their_lateness_reported():
    clock = FakeClock()

    def slow_consumer(frame: FrameFeatures) -> None:
        if frame.media_time == pytest.approx(0.2):
            clock.now += 0.35  # something held the sender up

    with FakeLiveDaemon() as daemon:
        summary = replay_features(frame_features(10, fps=10), ("127.0.0.1", daemon.port),
                                  progress=slow_consumer, clock=clock, sleep=clock.sleep)
    assert summary.max_lateness_s == pytest.approx(0.25)  # the 0.3 s frame went at 0.55 s
    assert summary.frames_sent == 10
    assert summary.wall_seconds == pytest.approx(0.9)  # back on schedule afterwards


def test_joining_a_running_session_sends_only_frames(montage):
    with FakeLiveDaemon() as daemon:
        summary = replay_video(montage, ("127.0.0.1", daemon.port), speed=50, max_seconds=0.5,
                               start_session=False)
        time.sleep(0.05)
    assert daemon.addresses() == [FRAME] * summary.frames_sent
    assert summary.stop_acknowledged is None


def test_refused_start_raises_and_sends_no_frames(montage):
    with FakeLiveDaemon(start_error="a live session already runs") as daemon:
        with pytest.raises(ReplayError, match="refused /v2m/live/start: a live session already"):
            replay_video(montage, ("127.0.0.1", daemon.port), confirm_s=2.0)
        time.sleep(0.05)
    assert daemon.addresses() == [START]


def test_no_daemon_is_reported_quickly(montage):
    began = time.monotonic()
    with pytest.raises(ReplayError, match=r"nothing listens|no answer"):
        replay_video(montage, ("127.0.0.1", closed_port()), confirm_s=2.0)
    assert time.monotonic() - began < 2.5


def test_daemon_errors_about_frames_are_collected(montage):
    with FakeLiveDaemon(frame_error="luma must be in 0..1") as daemon:
        summary = replay_video(montage, ("127.0.0.1", daemon.port), speed=20, max_seconds=0.5,
                               confirm_s=2.0)
    assert summary.error_count >= summary.frames_sent - 1  # the last may come after the stop
    assert summary.errors[0] == f"{FRAME} luma must be in 0..1"


def test_interrupted_replay_still_stops_the_session(montage):
    def interrupt(frame: FrameFeatures) -> None:
        if frame.media_time > 0.1:
            raise KeyboardInterrupt

    with FakeLiveDaemon() as daemon:
        with pytest.raises(KeyboardInterrupt):
            replay_video(montage, ("127.0.0.1", daemon.port), speed=10, progress=interrupt)
        daemon.wait_for(STOP)
    assert daemon.addresses() == [START, FRAME, FRAME, FRAME, FRAME, STOP]


@pytest.mark.parametrize("setting", [{"speed": 0}, {"speed": float("nan")}, {"latency": -0.1},
                                     {"timeout": 0}, {"confirm_s": -1}])
def test_bad_settings_are_refused_before_sending(setting):
    with FakeLiveDaemon() as daemon:
        with pytest.raises(ReplayError, match=next(iter(setting))):
            replay_features(frame_features(3), ("127.0.0.1", daemon.port), **setting)
        time.sleep(0.05)
    assert daemon.received == []


def test_cli_replays_and_prints_a_summary(montage, capsys):
    with FakeLiveDaemon() as daemon:
        code = v2m_main(["replay", str(montage), "--port", str(daemon.port), "--seconds", "1",
                         "--speed", "10", "--latency", "0.3", "--timeout", "1.5"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("replayed 25 frames (0.96 s of media)")
    assert daemon.received[0][1:] == (START, pytest.approx((0.3, 1.5)))
    assert daemon.addresses()[-1] == STOP


def test_cli_exits_1_when_the_daemon_reports_errors(montage, capsys):
    with FakeLiveDaemon(frame_error="bad frame") as daemon:
        code = v2m_main(["replay", str(montage), "--port", str(daemon.port), "--seconds", "0.3",
                         "--speed", "10"])
    assert code == 1
    assert "reported" in capsys.readouterr().err


def test_cli_says_when_no_daemon_answers(montage, capsys):
    code = v2m_main(["replay", str(montage), "--port", str(closed_port()), "--seconds", "1"])
    assert code == 1
    assert "is `v2m-bridge serve` running" in capsys.readouterr().err


def test_cli_missing_file_and_non_video(tmp_path, capsys):
    assert v2m_main(["replay", str(tmp_path / "missing.mp4")]) == 1
    assert "video file not found" in capsys.readouterr().err
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    assert v2m_main(["replay", str(fake)]) == 1
    assert "cannot be opened as a video" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--speed", "0"], ["--speed", "nan"], ["--latency", "-1"],
                                    ["--timeout", "inf"], ["--seconds", "abc"],
                                    ["--port", "70000"]])
def test_cli_bad_numbers_exit_2_with_the_option_named(option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        v2m_main(["replay", "clip.mp4", *option])
    assert exit_info.value.code == 2
    assert f"argument {option[0]}" in capsys.readouterr().err
