#!/bin/bash
# Entrypoint of the test-bed coturn image, with the interface of the official
# coturn/coturn image (docker/coturn/rootfs/usr/local/bin/docker-entrypoint.sh):
#
# * arguments that start with an option get `turnserver` in front of them;
# * every argument is expanded on its own, as `echo` would print it after
#   shell expansion, so a compose command such as
#     ["--static-auth-secret=$${TURN_CREDENTIALS}", "--relay-ip=$$(hostname -i)"]
#   reads the container's environment and runs commands, and a value with
#   spaces stays one argument;
# * then the result is exec'd (turnserver is PID 1 unless compose says init).
if [ "${1:0:1}" == '-' ]; then
  set -- turnserver "$@"
fi

args=()
for arg in "$@"; do
  args+=("$(eval "echo $arg")")
done

exec "${args[@]}"
