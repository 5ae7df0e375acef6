#!/bin/sh
# Test-bed stand-in for the official coturn image's detect-external-ip:
# the same interface (REAL_EXTERNAL_IP short-cut, --ipv4 / --ipv6), but no
# public DNS resolver is reachable here, so without REAL_EXTERNAL_IP it fails
# exactly as the official script does offline: "All providers failed" on
# stderr, nothing on stdout, exit 1 (the image's default CMD then passes an
# empty --external-ip=).
if [ -n "${REAL_EXTERNAL_IP:-}" ]; then
  echo "$REAL_EXTERNAL_IP"
  exit 0
fi

while [ $# -gt 0 ]; do
  case "$1" in
    --ipv4 | --ipv6) ;;
    *)
      echo "Invalid argument: '$1'" >&2
      exit 1
      ;;
  esac
  shift
done

echo "[$0] All providers failed" >&2
exit 1
