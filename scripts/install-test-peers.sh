#!/usr/bin/env bash
# Installs the independent peers the interop tests talk to: Debian's python3-zmq (pyzmq on Debian's
# own libzmq5) and python3-msgpack. Runs before `npm test`. Does nothing when they are present; when
# they are missing and this is not a root shell with apt-get, it says so and the interop tests skip.
set -u
packages=(python3-zmq python3-msgpack)
if /usr/bin/python3 -c 'import zmq, msgpack' 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test peers: ${packages[*]} missing and cannot be installed here (needs root and apt-get); interop tests will be skipped" >&2
  exit 0
fi
echo "test peers: installing ${packages[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 ||
    echo "test peers: apt-get install ${packages[*]} failed; interop tests will be skipped" >&2
fi
exit 0
