"""What jitsi-stack keeps in the project folder: paths, atomic link-safe files, the state
file, the lock, the secrets."""
