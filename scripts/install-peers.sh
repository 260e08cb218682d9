#!/usr/bin/env bash
# Installs, from Debian, the independent tools the tests or the benchmarks talk to. Does nothing when
# they are present; when they are missing and this is not a root shell with apt-get, it says so and
# whatever needs them is skipped (and says so too).
#   test:  python3-zmq and python3-msgpack (pyzmq on Debian's own libzmq5) as interop peers,
#          prometheus for `promtool check metrics`, and iproute2 (`ip`, `tc`) and nftables (`nft`)
#          for the multi-host test in network namespaces, and chromium, the headless browser the
#          dashboard test drives. Runs before `npm test`.
#   bench: gcc and libzmq3-dev, to build bench/peers/c/zmqbench.c, the C ceiling. Runs before
#          `bun run bench`; without them the C baseline is skipped with a note.
set -u
what=${1:-}
packages=()
case "$what" in
  test)
    /usr/bin/python3 -c 'import zmq, msgpack' 2>/dev/null || packages+=(python3-zmq python3-msgpack)
    command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
    command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1 || packages+=(iproute2)
    command -v nft >/dev/null 2>&1 || packages+=(nftables)
    command -v chromium >/dev/null 2>&1 || packages+=(chromium)
    consequence="tests that need them will be skipped" ;;
  bench)
    command -v gcc >/dev/null 2>&1 || packages+=(gcc libc6-dev)
    [ -f /usr/include/zmq.h ] || packages+=(libzmq3-dev)
    consequence="the C baseline will be skipped" ;;
  *) echo "usage: $0 test|bench" >&2; exit 2 ;;
esac
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "$what peers: ${packages[*]} missing and cannot be installed here (needs root and apt-get); $consequence" >&2
  exit 0
fi
echo "$what peers: installing ${packages[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 ||
    echo "$what peers: apt-get install ${packages[*]} failed; $consequence" >&2
fi
exit 0
