"""The live daemon: MIDI out, transport clocks, the real-time scheduler, OSC and sessions.

Threads and hand-offs::

    OSC socket thread --parse, check, queue--> model worker (analysis, generation, live steps)
          |                                          | set_events() / replace_from()
          v                                          v
    TransportClock ---notify---> Scheduler thread (time.monotonic, look-ahead) --> MidiSink

The OSC protocol (every address, its arguments and its reply) is defined once, in
:mod:`v2m_bridge.osc.protocol`; :mod:`.routes` makes the daemon's routes from it.

Modules: :mod:`.app` wires the pieces; :mod:`.server` owns the UDP socket; :mod:`.session` holds
the opened video, the settings (:mod:`.state`) and the clients (:mod:`.clients`);
:mod:`.clock_control` picks the clock (own, Reaper, MTC); :mod:`.live_mode` runs live sessions
(frames folded by :mod:`.live_frames`, music by :mod:`.live_composer`); :mod:`.worker` is the
model worker and :mod:`.backend` the model work; :mod:`.scheduler`, :mod:`.transport`,
:mod:`.midi_out` and :mod:`.midi_in` are the real-time side. A lost MIDI port is reported to
registered clients as ``/v2m/error s:(midi) s:message``.
"""
