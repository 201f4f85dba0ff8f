#!/usr/bin/env bash
# Draws the app icon and the five tray-state icons with ImageMagick (apt: imagemagick).
# The PNGs are checked in; run this again only to change the artwork.
set -euo pipefail
cd "$(dirname "$0")"
IM=/usr/bin/convert

# App icon: an indigo rounded square with a white "D" and a green "done" dot.
$IM -size 512x512 xc:none -fill '#4f46e5' -draw "roundrectangle 32,32 480,480 96,96" \
  -fill none -stroke white -strokewidth 44 \
  -draw "path 'M 176,140 L 176,372 L 250,372 A 116,116 0 0 0 250,140 Z'" \
  -stroke white -strokewidth 16 -fill '#22c55e' -draw "circle 396,396 396,340" icon.png
# Every size desktops look for (the package installs each under /usr/share/icons/hicolor).
for s in 16 24 32 48 64 128 256; do $IM icon.png -resize ${s}x${s} ${s}x${s}.png; done
$IM icon.png -resize 256x256 128x128@2x.png

# Tray icons: the same mark in slate, with a badge that says the state.
$IM -size 64x64 xc:none -fill '#334155' -draw "roundrectangle 2,2 62,62 14,14" \
  -fill none -stroke white -strokewidth 7 \
  -draw "path 'M 18,13 L 18,51 L 29,51 A 19,19 0 0 0 29,13 Z'" /tmp/delegate-tray-base.png
$IM /tmp/delegate-tray-base.png -resize 32x32 tray-idle.png
badge() { # colour, output, extra drawing
  $IM /tmp/delegate-tray-base.png -fill "$1" -stroke white -strokewidth 3 \
    -draw "circle 47,47 47,31" -stroke none -fill white -draw "$3" -resize 32x32 "$2"
}
badge '#3b82f6' tray-working.png "circle 40,47 40,44.5 circle 47,47 47,44.5 circle 54,47 54,44.5"
badge '#16a34a' tray-review.png "polygon 39,47 42,44 45,48 52,40 55,43 45,54"
badge '#f59e0b' tray-paused.png "rectangle 41,40 45,54 rectangle 49,40 53,54"
badge '#dc2626' tray-error.png "rectangle 45,37 49,50 rectangle 45,53 49,57"
