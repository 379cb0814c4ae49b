#!/usr/bin/env bash
# Install the system programs segcheck's demo and tests use, when missing and possible.
#   graphviz (dot)      renders the reachability graph
#   iptables, nftables  kernel oracle tests (network namespaces, root)
#   iproute2 (ip)       network namespaces for those tests
#   tshark              flow-extraction oracle
# As root with apt-get they are installed; otherwise this says exactly what to install and
# carries on (the tests that need a missing program skip with that reason, except in CI).
set -u
need=()
command -v dot >/dev/null 2>&1 || need+=(graphviz)
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
for extra in "$@"; do
  case "$extra" in
    chromium) command -v chromium >/dev/null 2>&1 || need+=(chromium) ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  if apt-get install -y -qq --no-install-recommends "${need[@]}" >/tmp/segcheck-apt.log 2>&1; then
    exit 0
  fi
  echo "sysdeps: apt-get install failed (see /tmp/segcheck-apt.log)" >&2
fi
echo "sysdeps: missing system packages: ${need[*]}" >&2
echo "sysdeps: install them with:  sudo apt-get install ${need[*]}" >&2
exit 0
