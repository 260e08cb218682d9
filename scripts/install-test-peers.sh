#!/usr/bin/env bash
# Installs the independent tools the tests talk to, from Debian: python3-zmq (pyzmq on Debian's own
# libzmq5) and python3-msgpack as interop peers, and prometheus for `promtool check metrics`. Runs
# before `npm test`. Does nothing when they are present; when they are missing and this is not a root
# shell with apt-get, it says so and the tests that need them are skipped.
set -u
packages=()
/usr/bin/python3 -c 'import zmq, msgpack' 2>/dev/null || packages+=(python3-zmq python3-msgpack)
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test peers: ${packages[*]} missing and cannot be installed here (needs root and apt-get); tests that need them will be skipped" >&2
  exit 0
fi
echo "test peers: installing ${packages[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 ||
    echo "test peers: apt-get install ${packages[*]} failed; tests that need them will be skipped" >&2
fi
exit 0
