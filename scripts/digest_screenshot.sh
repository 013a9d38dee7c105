#!/usr/bin/env bash
# Render the demo's HTML digest and screenshot it in headless Chromium, to check by eye
# what a mail client will draw (bars, charts, wrapping) without sending an e-mail.
#
#   scripts/digest_screenshot.sh [OUT.png]      (default: digest.png)
#
# Needs chromium on PATH (Debian: apt-get install chromium). Nothing leaves 127.0.0.1:
# the demo serves its own feeds, the digest has no remote images, Chromium is told not
# to phone home.
set -euo pipefail
out=$(realpath -m "${1:-digest.png}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mentionwatch demo -q --keep "$work/demo"
# The demo's posts are from 2026-11-18..21: a week ending just after them.
mentionwatch -c "$work/demo/mentionwatch.yaml" digest --since 7d \
    --until 2026-11-21T08:00:00Z -f html -o "$work/digest.html"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --screenshot="$out" --window-size=900,1400 \
    "file://$work/digest.html" 2>/dev/null
echo "wrote $out"
