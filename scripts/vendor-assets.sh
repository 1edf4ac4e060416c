#!/usr/bin/env bash
# Refresh static/vendor/ from the npm registry at the pinned versions below, keeping each
# package's license next to its files. The output is committed: the app never loads a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# package@version  destination-folder  files (relative to the package root; globs allowed)
PACKAGES=(
  "leaflet@1.9.4|leaflet|dist/leaflet.js dist/leaflet.css dist/images/*"
  "jquery@3.7.1|jquery|dist/jquery.min.js"
  "bootstrap@5.2.2|bootstrap|dist/js/bootstrap.bundle.min.js dist/css/bootstrap.min.css"
  "leaflet.awesome-markers@2.0.5|awesome-markers|dist/leaflet.awesome-markers.js dist/leaflet.awesome-markers.css dist/images/*"
  "@fortawesome/fontawesome-free@6.2.0|fontawesome|css/all.min.css webfonts/*"
  "leaflet.markercluster@1.5.3|markercluster|dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css"
  "leaflet-draw@1.0.4|leaflet-draw|dist/leaflet.draw.js dist/leaflet.draw.css dist/images/*"
  "leaflet.vectorgrid@1.3.0|vectorgrid|dist/Leaflet.VectorGrid.bundled.min.js"
  "leaflet.fullscreen@3.0.0|fullscreen|Control.FullScreen.js Control.FullScreen.css icon-fullscreen.svg"
  "chart.js@4.6.1|chartjs|dist/chart.umd.min.js"
  "@geoman-io/leaflet-geoman-free@2.20.2|geoman|dist/leaflet-geoman.min.js dist/leaflet-geoman.css"
)

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r spec folder files <<<"$entry"
  echo "==> $spec"
  (cd "$WORK" && npm pack --silent "$spec" >/dev/null 2>&1)
  tarball=$(ls -t "$WORK"/*.tgz | head -1)
  mkdir -p "$WORK/x" && tar -xzf "$tarball" -C "$WORK/x"
  rm -rf "${DEST:?}/$folder" && mkdir -p "$DEST/$folder"
  for pattern in $files; do
    for f in "$WORK"/x/package/$pattern; do
      rel=${f#"$WORK"/x/package/}
      mkdir -p "$DEST/$folder/$(dirname "$rel")"
      cp "$f" "$DEST/$folder/$rel"
    done
  done
  found=0
  for lic in "$WORK"/x/package/*LICEN[CS]E* "$WORK"/x/package/license*; do
    [ -e "$lic" ] && cp "$lic" "$DEST/$folder/" && found=1
  done
  if [ "$found" = 0 ]; then
    # Some packages ship no license file: keep the declared license and the README that states it.
    license=$(node -p "require('$WORK/x/package/package.json').license")
    printf '%s is published under "%s" (package.json); its README, copied beside this file, has the terms.\n' \
      "$spec" "$license" > "$DEST/$folder/LICENSE"
    cp "$WORK"/x/package/README.md "$DEST/$folder/README.md"
  fi
  echo "$spec" > "$DEST/$folder/VERSION"
  rm -rf "$WORK/x" "$tarball"
done

# Category icons for the resident's form: a handful of Lucide icons (ISC) gathered into one SVG sprite, so that
# the form loads one small cached file instead of an icon font.
LUCIDE="lucide-static@0.462.0"
ICONS="shield swords hand-coins users car volume-2 trash-2 building-2 construction lamp-floor droplets utensils flame
       trees file-text landmark circle-help"
echo "==> $LUCIDE (sprite)"
(cd "$WORK" && npm pack --silent "$LUCIDE" >/dev/null 2>&1)
tarball=$(ls -t "$WORK"/*.tgz | head -1)
mkdir -p "$WORK/x" && tar -xzf "$tarball" -C "$WORK/x"
rm -rf "$DEST/lucide" && mkdir -p "$DEST/lucide"
python3 - "$WORK/x/package/icons" "$DEST/lucide/icons.svg" $ICONS <<'PY'
import re, sys
from pathlib import Path
source, target, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
symbols = []
for name in names:
    body = (source / f"{name}.svg").read_text()
    inner = re.search(r"<svg[^>]*>(.*)</svg>", body, re.S).group(1)
    inner = re.sub(r"\s+", " ", inner).strip()
    symbols.append(f'<symbol id="{name}" viewBox="0 0 24 24">{inner}</symbol>')
target.write_text('<svg xmlns="http://www.w3.org/2000/svg" fill="none" stroke="currentColor" stroke-width="2" '
                  'stroke-linecap="round" stroke-linejoin="round">' + "".join(symbols) + "</svg>\n")
PY
cp "$WORK/x/package/LICENSE" "$DEST/lucide/"
echo "$LUCIDE" > "$DEST/lucide/VERSION"
