"""The OSC protocol of ``v2m-bridge serve`` and its client side: wire format, client, replay."""
