#!/usr/bin/env bash
# Install Debian's chromium for the report's browser test when it is absent (needs root and apt).
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the browser test ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "warning: could not install chromium; the browser test will be skipped" >&2
else
  echo "warning: chromium is not installed and cannot be installed here; the browser test will be skipped" >&2
fi
exit 0
