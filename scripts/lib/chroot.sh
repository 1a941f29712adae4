# shellcheck shell=bash
# The chroot set-up that scripts/check-deb.sh and scripts/check-debian13.sh share (sourced, not run):
# running as root, the host's Debian mirrors, a root file system made with mmdebstrap, private mount and
# PID namespaces, the mounts a root needs (undone on exit) and a command run in the root with a clean
# environment. Each function says what it needs; errors name the script ($chroot_name) and the log.

# The caller's name in messages ("check-deb", "debian13").
chroot_name=${chroot_name:-chroot}

# chroot_as_root SCRIPT VAR,VAR,... ARGS...: re-runs SCRIPT with sudo (keeping those environment
# variables) unless this is root already; returns when it is root.
chroot_as_root() {
  local script=$1 keep=$2
  shift 2
  if [ "$(id -u)" -ne 0 ]; then
    exec sudo --preserve-env="$keep" "$script" "$@"
  fi
}

# chroot_source_uri REGEX: the URI of the first deb822 stanza of the machine's own sources whose Suites
# match REGEX (nothing when there is no such file or stanza).
chroot_source_uri() {
  local f=/etc/apt/sources.list.d/debian.sources
  [ -r "$f" ] || return 0
  awk -v want="$1" 'BEGIN { RS = ""; FS = "\n" }
    { uri = ""; suites = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { s = $i; sub(/^URIs:[ \t]*/, "", s); split(s, a, /[ \t]+/); uri = a[1] }
        if ($i ~ /^Suites:/) suites = $i
      }
      if (uri != "" && suites ~ want) { print uri; exit } }' "$f"
}

# chroot_host_tools: installs mmdebstrap and the archive keyring on this machine when missing.
chroot_host_tools() {
  local p missing=()
  for p in mmdebstrap debian-archive-keyring; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "$chroot_name: installing ${missing[*]} on this machine" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
}

# chroot_refuse_mounted DIR: fails when something is still mounted under DIR (an interrupted run's), so
# that nothing removes or copies over a mounted file system.
chroot_refuse_mounted() {
  if grep -q " $1" /proc/self/mountinfo; then
    echo "$chroot_name: something is still mounted under $1; unmount it first" >&2
    return 1
  fi
}

# chroot_mmdebstrap SUITE DIR MIRROR SECURITY LOG [MMDEBSTRAP OPTION...]: a root of SUITE (apt variant,
# from the suite, its updates and its security suite) made in DIR.new, then moved to DIR; its output in LOG.
# mmdebstrap's own mounts stay in a private mount namespace.
chroot_mmdebstrap() {
  local suite=$1 dir=$2 mirror=$3 security=$4 log=$5
  shift 5
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  rm -rf --one-file-system "$dir.new"   # from an interrupted run
  if ! unshare --mount --propagation private \
      mmdebstrap --mode=root --variant=apt "$@" "$suite" "$dir.new" \
        "deb [signed-by=$keyring] $mirror $suite main" \
        "deb [signed-by=$keyring] $mirror $suite-updates main" \
        "deb [signed-by=$keyring] $security $suite-security main" >"$log" 2>&1; then
    tail -30 "$log" >&2
    echo "$chroot_name: mmdebstrap failed ($log)" >&2
    return 1
  fi
  mv "$dir.new" "$dir"
}

# chroot_namespaces COMMAND...: runs COMMAND (this script again, with --inner) in private mount and PID
# namespaces: its mounts never reach the host and no process outlives it.
chroot_namespaces() {
  exec unshare --mount --pid --fork --propagation private "$@"
}

# chroot_mount ROOT: inside the namespaces, the mounts a root needs (proc, sys, dev, a private devpts, a
# 4 GiB /dev/shm for chromium's and PostgreSQL's shared memory), undone in reverse order on exit; the
# host's resolv.conf, extra certificate authorities (a proxy's) and proxy variables (in chroot_env).
chroot_mounted=()
chroot_env=()
chroot_unmount() {
  local i
  for ((i = ${#chroot_mounted[@]} - 1; i >= 0; i--)); do umount -l "${chroot_mounted[i]}" 2>/dev/null || true; done
  chroot_mounted=()
}
chroot_mnt() { mount "$@"; chroot_mounted+=("${!#}"); }
chroot_mount() {
  local root=$1 v
  trap chroot_unmount EXIT
  trap 'exit 130' INT TERM   # PID 1 of the namespace ignores signals it has no handler for
  # Nothing mounted here may propagate back to the host (the namespace's copy of / may be shared).
  mount --make-rprivate /
  chroot_mnt -t proc proc "$root/proc"
  chroot_mnt -t sysfs sysfs "$root/sys"
  chroot_mnt --bind /dev "$root/dev"
  mkdir -p "$root/dev/pts" "$root/dev/shm"
  chroot_mnt -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
  chroot_mnt -t tmpfs -o mode=1777,size=4g tmpfs "$root/dev/shm"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  fi
  chroot_env=()
  for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    if [ -n "${!v:-}" ]; then chroot_env+=("$v=${!v}"); fi
  done
}

# chroot_run ROOT COMMAND [VAR=VALUE...]: COMMAND by bash in ROOT as root, with a clean environment (HOME,
# LANG, PATH, the proxies, the VAR=VALUE given).
chroot_run() {
  local root=$1 command=$2
  shift 2
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "${chroot_env[@]}" "$@" /bin/bash -c "$command"
}
