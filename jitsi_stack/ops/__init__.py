"""The verbs on a Compose deployment: start/stop/status, preflight, update, clean, rotate,
backup, restore, lint."""
