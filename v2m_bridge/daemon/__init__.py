"""The live daemon: MIDI out, transport clocks, the real-time scheduler, OSC and sessions.

Threads and hand-offs::

    OSC socket thread ──▶ Session (state; model work in a worker thread)
          │                    │ set_events()
          ▼                    ▼
    TransportClock ──notify──▶ Scheduler thread (time.monotonic, look-ahead) ──▶ MidiSink

OSC interface of ``v2m-bridge serve`` (UDP, default 127.0.0.1:9000). Every ``/v2m/*`` request
is answered, to the sender (or its host at ``--reply-port``) and to clients registered with
``/v2m/hello``: with its reply, or ``/v2m/error s:address s:message``. Positions are project
seconds (media time + the video's timeline offset); ``f`` arguments accept ints, never NaN/inf.

=============================================  ==============================================
request                                        reply
=============================================  ==============================================
``/v2m/hello s:name i:reply_port``             ``/v2m/status``; then ``/v2m/status`` ~10 Hz
``/v2m/status``                                ``/v2m/status s:transport f:pos f:bpm s:phase``
``/v2m/video/open s:path [f:timeline_offset]`` ``/v2m/progress s:stage f:fraction`` ...,
                                               then ``/v2m/ready s:path f:duration``
``/v2m/key s`` ``/v2m/primer s``               ``/v2m/ok s:address`` (used by the next
``/v2m/emotion s`` (name or curve)             open/regenerate)
``/v2m/seed i``                                ``/v2m/ok s:address``
``/v2m/regenerate f:start f:end``              progress, then ``/v2m/ready`` (media range
                                               re-rolled, the rest kept)
``/v2m/render s:out.mid``                      ``/v2m/render/done s:path``
``/v2m/panic``                                 ``/v2m/ok`` (every sounding note ended)
``/v2m/transport/play f:pos [f:rate]``         ``/v2m/ok`` (the daemon's own clock)
``/v2m/transport/stop``, ``.../seek f:pos``    ``/v2m/ok``
``/v2m/transport/follow i:1|0``                ``/v2m/ok`` (follow Reaper's feedback or not)
``/v2m/live/start [f:latency [f:timeout]]``     ``/v2m/ok`` (see :mod:`.live_mode`)
``/v2m/live/frame f:t luma motion r g b cut``   nothing unless wrong; ``/v2m/chord s f`` to
(+ 6 emotion and/or 768 semantic values)       registered clients per chord planned
``/v2m/live/image s:path f:media_time``        ``/v2m/ok`` once CLIP encoded it
``/v2m/live/stop``                             ``/v2m/ok`` (every note ended)
=============================================  ==============================================

Reaper's control-surface feedback (see ``reaper_scripts/v2m.ReaperOSC``), bare or in bundles, is
followed without replies: ``/play``, ``/stop``, ``/pause`` (0/1), ``/time f``, ``/repeat``,
``/loop/start/time f``, ``/loop/end/time f``, ``/tempo/raw f``, ``/playrate/raw f``. Packets over
8192 bytes or that do not parse get ``/v2m/error s:(packet) s:message``; a lost MIDI port is
reported to registered clients as ``/v2m/error s:(midi) s:message``.
"""
