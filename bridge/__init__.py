"""The realtime process: audio sources, the streaming engine, network sinks and live controls."""
