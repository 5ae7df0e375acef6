"""jitsi-stack: run Jitsi Meet with Docker Compose from one validated settings file."""

__version__ = "0.1.0"
