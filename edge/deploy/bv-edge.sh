#!/bin/sh
# bv-edge, as installed by the bv-edge package: the agent on its Node runtime with the V8 flags it
# ships with (a small young generation; optimise for size: Pi-class memory).
#
# Agent updates (edge/deploy/README.md "Updates"): releases installed over the air live in
# $BV_EDGE_RELEASES_DIR (default /var/lib/bv-edge/releases), owned by the service user; this
# launcher starts releases/current when it points at a complete release, else the packaged copy
# in @APP@ (the fallback, and what a newer package installed by apt replaces). While a new release
# is on trial (releases/trial), every start of the agent is counted; after BV_EDGE_TRIAL_STARTS
# (default 3) starts that did not end the trial, it switches back to the previous release and
# leaves the reason in releases/rolled-back for the agent that starts next to report.
RELEASES="${BV_EDGE_RELEASES_DIR:-/var/lib/bv-edge/releases}"
MAX_STARTS="${BV_EDGE_TRIAL_STARTS:-3}"
APP="@APP@"
NODE="@NODE@"

kv() { sed -n "s/^$1=//p" "$2" 2>/dev/null | head -n 1; }

# Only a run of the agent is counted (no subcommand: `bv-edge --config …`), not `bv-edge claim`.
case "${1:-}" in
  "" | -*) agent=1 ;;
  *) agent=0 ;;
esac

if [ "$agent" = 1 ] && [ -f "$RELEASES/trial" ] && [ -w "$RELEASES" ]; then
  starts=$(cat "$RELEASES/trial-starts" 2>/dev/null || echo 0)
  case "$starts" in '' | *[!0-9]*) starts=0 ;; esac
  starts=$((starts + 1))
  if [ "$starts" -gt "$MAX_STARTS" ]; then
    version=$(kv version "$RELEASES/trial")
    previous=$(kv previous "$RELEASES/trial")
    printf 'version=%s\nreason=%s\n' "$version" "the new agent stopped $MAX_STARTS times in a row before reaching the cloud (crash loop)" \
      >"$RELEASES/.rolled-back.tmp" && mv -f "$RELEASES/.rolled-back.tmp" "$RELEASES/rolled-back"
    if [ -n "$previous" ] && [ "$previous" != packaged ] && [ -f "$RELEASES/$previous/usr/lib/bv-edge/dist/bin.js" ]; then
      ln -sfn "$previous" "$RELEASES/.current-new" && mv -Tf "$RELEASES/.current-new" "$RELEASES/current"
    else
      rm -f "$RELEASES/current"
    fi
    rm -f "$RELEASES/trial" "$RELEASES/trial-starts"
    echo "bv-edge: release $version rolled back to ${previous:-packaged} after $MAX_STARTS failed starts" >&2
  else
    echo "$starts" >"$RELEASES/.trial-starts.tmp" && mv -f "$RELEASES/.trial-starts.tmp" "$RELEASES/trial-starts"
  fi
fi

release="$RELEASES/current/usr/lib/bv-edge"
if [ -L "$RELEASES/current" ] && [ -f "$release/dist/bin.js" ]; then
  # A package installed later (apt-get upgrade) that is newer than the release wins.
  packaged=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$APP/package.json" 2>/dev/null)
  current=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$release/package.json" 2>/dev/null)
  if [ -n "$packaged" ] && [ -n "$current" ] && command -v dpkg >/dev/null 2>&1 && dpkg --compare-versions "$packaged" gt "$current"; then
    :
  else
    APP="$release"
  fi
fi
# A release that carries its own Node runtime (the +node builds) runs on it.
if [ -x "$APP/node/bin/node" ]; then NODE="$APP/node/bin/node"; fi
export BV_EDGE_RELEASES_DIR="$RELEASES"
# The bundled agent (dist/bundle, edge/bundle.mjs); releases built before it have only dist/bin.js.
program="$APP/dist/bundle/bin.js"
[ -f "$program" ] || program="$APP/dist/bin.js"
exec "$NODE" @V8_FLAGS@ "$program" "$@"
