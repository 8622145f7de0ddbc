#!/bin/sh
# Installs the BitVelocity edge agent from this cloud, claims it, and starts it:
#   curl -fsSL @BV_CLOUD_URL@/edge/install.sh | sudo sh -s -- --claim CODE
# A cloud on its development CA is reached by pinning its HTTPS public key instead (the Add edge
# page shows that command): curl -k --pinnedpubkey PIN … | sudo sh -s -- --claim CODE --pin PIN
# Picks the package for this machine's architecture (arm64, armhf, amd64) and runtime: Debian's
# nodejs when it is >= 20.19 (Debian 13, Raspberry Pi OS 13), else the build that bundles Node.
# Each download is checked against the SHA-256 the cloud lists.
set -eu

CLOUD="@BV_CLOUD_URL@"
CODE=""
PIN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --claim) CODE="${2:-}"; shift 2 ;;
    --cloud) CLOUD="${2:-}"; shift 2 ;;
    --pin) PIN="${2:-}"; shift 2 ;;
    *) echo "install.sh: unknown option $1 (use --claim CODE [--cloud URL] [--pin sha256//…])" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (… | sudo sh -s -- --claim CODE)" >&2; exit 1; }
command -v dpkg >/dev/null || { echo "install.sh: needs a Debian-based system (dpkg)" >&2; exit 1; }

ARCH="$(dpkg --print-architecture)"
case "$ARCH" in arm64 | armhf | amd64) ;; *) echo "install.sh: no bv-edge package for $ARCH" >&2; exit 1 ;; esac

if [ -n "$PIN" ]; then
  # The pin replaces the CA check (-k): curl refuses any other key before sending a byte.
  command -v curl >/dev/null || { echo "install.sh: --pin needs curl" >&2; exit 1; }
  fetch() { curl -fsSLk --pinnedpubkey "$PIN" "$1"; }
  fetch_to() { curl -fsSLk --pinnedpubkey "$PIN" -o "$2" "$1"; }
else
  fetch() { if command -v curl >/dev/null; then curl -fsSL "$1"; else wget -qO- "$1"; fi; }
  fetch_to() { if command -v curl >/dev/null; then curl -fsSL -o "$2" "$1"; else wget -qO "$2" "$1"; fi; }
fi

# Debian's nodejs is enough when its candidate version is >= 20.19.
NODE_OK=no
CANDIDATE="$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: //p')"
if [ -n "$CANDIDATE" ] && [ "$CANDIDATE" != "(none)" ] && dpkg --compare-versions "$CANDIDATE" ge 20.19; then NODE_OK=yes; fi

INDEX="$(fetch "$CLOUD/edge/packages/")"
# pick debian|bundled: "version file sha256" of the newest such package for this architecture.
pick() {
  printf '%s\n' "$INDEX" | while read -r file sum _size; do
    case "$file" in bv-edge_*_"$ARCH".deb) ;; *) continue ;; esac
    v="${file#bv-edge_}"
    v="${v%_"$ARCH".deb}"
    case "$v" in *+node*) kind=bundled ;; *) kind=debian ;; esac
    [ "$kind" = "$1" ] && echo "$v $file $sum"
  done | {
    best=""
    while read -r v file sum; do
      if [ -z "$best" ] || dpkg --compare-versions "$v" gt "${best%% *}"; then best="$v $file $sum"; fi
    done
    echo "$best"
  }
}
LINE=""
if [ "$NODE_OK" = yes ]; then LINE="$(pick debian)"; fi
[ -n "$LINE" ] || LINE="$(pick bundled)"
[ -n "$LINE" ] || LINE="$(pick debian)"
[ -n "$LINE" ] || { echo "install.sh: the cloud offers no bv-edge package for $ARCH" >&2; exit 1; }
FILE="$(echo "$LINE" | cut -d' ' -f2)"
SUM="$(echo "$LINE" | cut -d' ' -f3)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo "bv-edge: downloading $FILE"
fetch_to "$CLOUD/edge/packages/$FILE" "$TMP/$FILE"
echo "$SUM  $TMP/$FILE" | sha256sum -c - >/dev/null || { echo "install.sh: $FILE does not match its SHA-256" >&2; exit 1; }
chmod 0644 "$TMP/$FILE"
# Unattended, and the site's edits to /etc/bv-edge/edge.yaml win over a changed default (confold).
DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$TMP/$FILE"

if [ -n "$CODE" ]; then
  if [ -n "$PIN" ]; then bv-edge claim --cloud "$CLOUD" --code "$CODE" --pin "$PIN"; else bv-edge claim --cloud "$CLOUD" --code "$CODE"; fi
  if [ -d /run/systemd/system ]; then
    systemctl enable --now bv-edge.service
    echo "bv-edge: claimed and running (systemctl status bv-edge)"
  fi
else
  echo "bv-edge: installed; claim it with: sudo bv-edge claim --cloud $CLOUD --code CODE"
fi
