#!/usr/bin/env bash
# need.sh NAME "WHAT NEEDS IT" "COMMAND..." PACKAGE...
# Installs PACKAGEs with apt-get when one of the COMMANDs is missing and
# apt-get can (CI runs as root), for the tests WHAT NEEDS IT names. It never
# fails the build: without the commands, those tests skip and say why.
name=$1 what=$2 cmds=$3
shift 3
missing=0
for c in $cmds; do
  command -v "$c" >/dev/null || missing=1
done
[ $missing = 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "$name: apt-get is not available; $what will skip"
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "$name: not root and no password-less sudo; $what will skip"
    exit 0
  fi
fi
echo "$name: installing with apt-get (for $what)"
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"; } >"/tmp/memdb-$name.log" 2>&1; then
  echo "$name: apt-get failed (log: /tmp/memdb-$name.log); $what will skip"
fi
exit 0
