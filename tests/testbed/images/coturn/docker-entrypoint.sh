#!/bin/bash
# Test-bed coturn entrypoint: our own code for the rule of the official image's
# entrypoint (coturn/coturn 8024aa63, docker/coturn/rootfs/usr/local/bin/
# docker-entrypoint.sh): when the first argument is an option, `turnserver` is
# put in front (its lines 3-6); then each argument, on its own, becomes what
# bash's `echo` prints for it written unquoted in a command, through one eval
# (its lines 8-12), and the result is exec'd (its line 14).
#
# So an argument is expanded (parameters, $(...), arithmetic), then split into
# words at blanks and each word globbed against the current directory, and the
# words are joined again with one space: `--static-auth-secret=${TURN_CREDENTIALS}`
# with a secret "a  b*" arrives as "a b<every file starting with b>". What the
# expansion produces is not expanded again ($ in a value stays). Only what
# compose puts in `command:` goes through this; a config file does not.

case "$1" in
  -*) set -- turnserver "$@" ;;
esac

# Argument n -> the text `echo <argument n>` prints, less its newline (the
# command substitution drops it, as upstream's does). The positional
# parameters stay those of the script while the arguments are expanded.
argv=()
for ((n = 1; n <= $#; n++)); do
  printed=$(eval "echo ${!n}")
  argv+=("$printed")
done

exec "${argv[@]}"
