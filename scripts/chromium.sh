#!/usr/bin/env bash
# Installs chromium for the dashboard's test (e2e TestDashboard) and
# `make screenshot`, when it is missing and apt-get can install it (CI runs
# as root). It never fails the build: without chromium, that test skips and
# says why.
if command -v chromium >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "chromium: apt-get is not available; the dashboard's browser test will skip"
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "chromium: not root and no password-less sudo; the dashboard's browser test will skip"
    exit 0
  fi
fi
echo "chromium: installing with apt-get (for the dashboard's browser test)"
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >/tmp/memdb-chromium.log 2>&1; then
  echo "chromium: apt-get failed (log: /tmp/memdb-chromium.log); the dashboard's browser test will skip"
fi
exit 0
