#!/usr/bin/env bash
# Installs redis-tools (redis-cli, redis-benchmark) for the RESP tests in
# e2e/, when they are missing and apt-get can install them (CI runs as
# root). It never fails the build: without the tools, those tests skip and
# say why.
if command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "redis-tools: apt-get is not available; the redis-cli and redis-benchmark tests will skip"
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "redis-tools: not root and no password-less sudo; the redis-cli and redis-benchmark tests will skip"
    exit 0
  fi
fi
echo "redis-tools: installing with apt-get (for the RESP front door's tests)"
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-tools; } >/tmp/memdb-redis-tools.log 2>&1; then
  echo "redis-tools: apt-get failed (log: /tmp/memdb-redis-tools.log); the redis-cli and redis-benchmark tests will skip"
fi
exit 0
