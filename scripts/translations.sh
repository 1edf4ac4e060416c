#!/usr/bin/env bash
# Refresh the message catalogs after changing user-facing text, then compile them.
#   scripts/translations.sh update    extract strings and merge them into vi/en .po files
#   scripts/translations.sh compile   compile .po -> .mo (committed, so the app needs no build step)
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=.venv/bin/pybabel
DIR=gisserver/translations
mkdir -p "$DIR"
case "${1:-}" in
  update)
    $PYBABEL extract -F babel.cfg -k _l -o "$DIR/messages.pot" --no-location --sort-output gisserver layers planning reports >/dev/null
    for lang in vi en; do
      if [ -f "$DIR/$lang/LC_MESSAGES/messages.po" ]; then
        $PYBABEL update -i "$DIR/messages.pot" -d "$DIR" -l "$lang" --no-fuzzy-matching
      else
        $PYBABEL init -i "$DIR/messages.pot" -d "$DIR" -l "$lang"
      fi
    done
    ;;
  compile)
    $PYBABEL compile -d "$DIR" --statistics
    ;;
  *) echo "usage: $0 update|compile" >&2; exit 2 ;;
esac
