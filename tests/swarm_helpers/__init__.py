"""A real multi-node Docker Swarm on this machine, for the Swarm tests and bench/swarm.py:
Docker-in-Docker nodes built from Debian's docker.io, images served by Debian's
docker-registry (shared/reference/swarm-on-one-machine.md)."""
