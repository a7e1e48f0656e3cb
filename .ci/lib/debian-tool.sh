# shellcheck shell=bash
# Sourced by the .ci/install-* scripts that install a tool from one of Debian bookworm's amd64
# packages (install-shellcheck, install-busybox, install-zsh). The caller sets TOOL (its name in
# messages and in the tools cache: <cache>/<TOOL>-<TOOL_VERSION>), TOOL_VERSION, PACKAGE,
# DEBIAN_VERSION, DEB_FILENAME (the .deb's path in Debian's archive, its Packages' `Filename`) and
# DEB_SHA256 (its `SHA256`), defines `works <dir>` (the tool in <dir> runs and reports
# TOOL_VERSION) and `place <unpacked root> <dir>` (moves what it needs from the unpacked package
# into <dir>), then calls `install_debian_tool`, which prints the folder and exits.
#
# The .deb comes from `apt-get download <package>=<version>` (the machine's Debian mirror, checked
# against the signed Release file's hashes, as for an install); where apt does not have that
# version (a machine that is not Debian bookworm: GitHub's Ubuntu runner), from Debian's archive
# itself (DEBIAN_MIRROR, https://deb.debian.org/debian by default). Either way its SHA-256 must be
# DEB_SHA256 and its version DEBIAN_VERSION. `dpkg-deb -x` unpacks it into a stage folder of the
# tools cache (no root install, nothing written outside the cache); the stage becomes the tool's
# folder only once `works` accepts it. Unpacked once, reused afterwards. Logs go to stderr; stdout
# is only the folder. Exits non-zero when it cannot be installed.

tools=${HOMELAB_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/homelab-platform/tools}

log() { echo "install-$TOOL: $*" >&2; }

install_debian_tool() {
  local dir="$tools/$TOOL-$TOOL_VERSION" stage deb
  mkdir -p "$tools"
  if works "$dir"; then
    echo "$dir"
    exit 0
  fi
  command -v dpkg-deb >/dev/null || { log "dpkg-deb not found"; exit 1; }
  stage=$(mktemp -d "${tools}/.$TOOL-XXXXXX")
  # shellcheck disable=SC2064 # the stage's name, fixed now
  trap "rm -rf '$stage'" EXIT
  chmod 755 "$stage"
  if [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
    log "the pinned package is Debian's amd64 build; this machine is $(dpkg --print-architecture 2>/dev/null || uname -m)"
    exit 1
  fi
  # apt's _apt user may not write to the stage folder; apt then downloads as the caller (a warning).
  if ! { command -v apt-get >/dev/null && log "apt-get download $PACKAGE=$DEBIAN_VERSION" &&
    (cd "$stage" && apt-get download -q "$PACKAGE=$DEBIAN_VERSION") >&2; }; then
    local url="${DEBIAN_MIRROR:-https://deb.debian.org/debian}/$DEB_FILENAME"
    log "apt has no $PACKAGE $DEBIAN_VERSION (not Debian bookworm's lists); fetching $url"
    curl -fsSL --retry 3 -o "$stage/${DEB_FILENAME##*/}" "$url" >&2 || {
      log "could not fetch $url"
      exit 1
    }
  fi
  deb=$(find "$stage" -maxdepth 1 -name "${PACKAGE}_*.deb" | head -n1)
  if [ -z "$deb" ] || [ "$(sha256sum "$deb" | cut -d' ' -f1)" != "$DEB_SHA256" ]; then
    log "the downloaded package is not the pinned $DEB_FILENAME (SHA-256 $DEB_SHA256)"
    exit 1
  fi
  if [ "$(dpkg-deb -f "$deb" Version)" != "$DEBIAN_VERSION" ]; then
    log "the downloaded package is not $PACKAGE $DEBIAN_VERSION"
    exit 1
  fi
  dpkg-deb -x "$deb" "$stage/root"
  mkdir -p "$stage/out"
  place "$stage/root" "$stage/out"
  if ! works "$stage/out"; then
    log "the unpacked $TOOL does not run or does not report version $TOOL_VERSION"
    exit 1
  fi
  rm -rf "$dir"
  mv "$stage/out" "$dir"
  echo "$dir"
  exit 0
}
