"""The call centre's people: prosody accounts and JWT tokens."""
