#!/usr/bin/env bash
# Installs the Debian packages that are missing (as root, with apt-get) or
# says how to install them and fails.
# Usage: debian-packages.sh <command|package> "<who needs them>" "<extra hint>" pkg...
#   command: a package counts as present when a command of its name exists
#   package: when dpkg knows it
set -euo pipefail
check=$1 who=$2 hint=$3
shift 3
missing=""
for p in "$@"; do
  if [ "$check" = command ]; then command -v "$p" >/dev/null 2>&1 || missing="$missing $p"
  else dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages for $who:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "Missing Debian packages for $who:$missing. Install with: sudo apt-get install -y$missing$hint"
  exit 1
fi
