#!/usr/bin/env bash
# The box: a single-host Hemma on this machine for the box suites. `up` (idempotent, safe to rerun)
# installs what is missing (Debian's docker.io, openssh-server, debootstrap) as root through apt,
# starts dockerd on its default socket, an sshd on 127.0.0.1:$BOX_SSH_PORT with key login and a
# pinned host key, stand-in GPU device nodes (/dev/kfd, /dev/dri/renderD128, group render) and a
# host `rocm-smi` stand-in on the sshd's PATH. `down` stops what `up` started, by recorded pid.
# `status` prints the state. Keys, known_hosts, pids, logs and box.env (what the suites read) live in
# ~/.local/state/sir-convert-a-lot-box. Exit 3 from `up` means the box cannot be had here (not root
# or no apt); the message says exactly what to install.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
STATE="${SIR_CONVERT_A_LOT_BOX_STATE:-$HOME/.local/state/sir-convert-a-lot-box}"
PORT="${SIR_CONVERT_A_LOT_BOX_SSH_PORT:-22622}"
SOCK=/var/run/docker.sock
PACKAGES=(docker.io openssh-server debootstrap)

log() { echo "box: $*" >&2; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
docker_ok() { timeout 5 docker -H "unix://$SOCK" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

missing_packages() {
  local out=()
  command -v dockerd >/dev/null 2>&1 || out+=(docker.io)
  [ -x /usr/sbin/sshd ] || out+=(openssh-server)
  command -v debootstrap >/dev/null 2>&1 || out+=(debootstrap)
  echo "${out[@]:-}"
}

ensure_packages() {
  local missing
  missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "box: unavailable: needs root with apt-get to install: $missing" >&2
    echo "what to do: as root on Debian run: apt-get install -y ${PACKAGES[*]} (then rerun), or skip the box suites" >&2
    exit 3
  fi
  log "installing $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing iptables ca-certificates >/dev/null
}

start_dockerd() {
  if alive "$STATE/dockerd.pid" && docker_ok; then return 0; fi
  if docker_ok; then log "a dockerd not started by the box already answers on $SOCK; using it"; return 0; fi
  log "starting dockerd"
  # own session, so `down` can stop it (and the containerd it starts) by pid
  setsid dockerd --pidfile "$STATE/dockerd.daemon.pid" >"$STATE/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$STATE/dockerd.pid"
  for _ in $(seq 1 150); do docker_ok && return 0; kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null || break; sleep 0.2; done
  log "dockerd did not answer on $SOCK within 30s; last log lines:"; tail -n 20 "$STATE/dockerd.log" >&2
  exit 1
}

ensure_devices() {
  getent group render >/dev/null || groupadd -r render
  getent group video >/dev/null || groupadd -r video
  # Stand-ins: real character devices that open (the kernel's full device numbers), distinct paths,
  # so a container started with --device sees them and one started without does not.
  # Recorded, so `down` removes only the nodes the box made (the unit suites' emulator holds
  # /dev/kfd when it exists, which the box's rocm-smi would count as GPU work).
  [ -e /dev/kfd ] || { mknod -m 0660 /dev/kfd c 1 7 && echo /dev/kfd >> "$STATE/devices.made"; }
  [ -d /dev/dri ] || { mkdir /dev/dri && echo /dev/dri >> "$STATE/devices.made"; }
  [ -e /dev/dri/renderD128 ] || { mknod -m 0660 /dev/dri/renderD128 c 1 7 && echo /dev/dri/renderD128 >> "$STATE/devices.made"; }
  chgrp render /dev/kfd /dev/dri/renderD128
}

ensure_keys() {
  [ -f "$STATE/host_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C sir-convert-a-lot-box-host -f "$STATE/host_ed25519"
  [ -f "$STATE/client_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C sir-convert-a-lot-box-client -f "$STATE/client_ed25519"
  cp "$STATE/client_ed25519.pub" "$STATE/authorized_keys"
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$STATE/host_ed25519.pub")" > "$STATE/known_hosts"
  chmod 600 "$STATE/client_ed25519" "$STATE/host_ed25519"
}

write_sshd_config() {
  cat > "$STATE/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $STATE/host_ed25519
PidFile $STATE/sshd.daemon.pid
AuthorizedKeysFile $STATE/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
PermitUserEnvironment no
SetEnv PATH=$STATE/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LogLevel ERROR
EOF
}

start_sshd() {
  if alive "$STATE/sshd.pid"; then return 0; fi
  mkdir -p /run/sshd
  log "starting sshd on 127.0.0.1:$PORT"
  /usr/sbin/sshd -D -e -f "$STATE/sshd_config" >"$STATE/sshd.log" 2>&1 < /dev/null &
  echo $! > "$STATE/sshd.pid"
  for _ in $(seq 1 100); do
    if ssh_probe; then return 0; fi
    kill -0 "$(cat "$STATE/sshd.pid")" 2>/dev/null || break
    sleep 0.1
  done
  log "sshd did not accept the box key on 127.0.0.1:$PORT; log:"; cat "$STATE/sshd.log" >&2
  exit 1
}

ssh_probe() {
  timeout 5 ssh -o BatchMode=yes -o IdentitiesOnly=yes -i "$STATE/client_ed25519" -o UserKnownHostsFile="$STATE/known_hosts" \
    -o StrictHostKeyChecking=yes -o LogLevel=ERROR -p "$PORT" root@127.0.0.1 true 2>/dev/null
}

write_env() {
  cat > "$STATE/box.env" <<EOF
BOX_STATE=$STATE
BOX_SSH_PORT=$PORT
BOX_DOCKER_HOST=ssh://root@127.0.0.1:$PORT
BOX_SSH_KEY=$STATE/client_ed25519
BOX_KNOWN_HOSTS=$STATE/known_hosts
BOX_RENDER_GID=$(getent group render | cut -d: -f3)
BOX_DOCKER_VERSION=$(docker -H "unix://$SOCK" version --format '{{.Server.Version}}')
BOX_DOCKER_API=$(docker -H "unix://$SOCK" version --format '{{.Server.APIVersion}}')
BOX_BASE_IMAGE=$(docker -H "unix://$SOCK" images --format '{{.Repository}}:{{.Tag}}' sir-convert-a-lot-box-base | head -n 1)
EOF
}

stop_pidfile() {
  local file="$1" what="$2" pid
  alive "$file" || { rm -f "$file"; return 0; }
  pid="$(cat "$file")"
  log "stopping $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}

case "${1:-}" in
  up)
    ensure_packages
    if [ "$(id -u)" != 0 ]; then
      echo "box: unavailable: dockerd, device nodes and the sshd need root" >&2
      echo "what to do: run the suites as root on Debian (packages: ${PACKAGES[*]}), or skip the box suites" >&2
      exit 3
    fi
    mkdir -p "$STATE/bin" && chmod 700 "$STATE"
    install -m 0755 "$HERE/host/rocm-smi" "$STATE/bin/rocm-smi"
    ensure_devices
    start_dockerd
    DOCKER_HOST="unix://$SOCK" bash "$HERE/baseImage.sh"
    ensure_keys
    write_sshd_config
    start_sshd
    write_env
    log "up: docker $(grep BOX_DOCKER_VERSION "$STATE/box.env" | cut -d= -f2), ssh://root@127.0.0.1:$PORT"
    ;;
  down)
    stop_pidfile "$STATE/sshd.pid" sshd
    stop_pidfile "$STATE/dockerd.pid" dockerd
    if [ -f "$STATE/devices.made" ]; then
      tac "$STATE/devices.made" | while read -r node; do
        case "$node" in /dev/kfd|/dev/dri/renderD128) [ -c "$node" ] && rm -f "$node" ;; /dev/dri) rmdir "$node" 2>/dev/null || true ;; esac
      done
      rm -f "$STATE/devices.made"
    fi
    rm -f "$STATE/box.env"
    ;;
  status)
    alive "$STATE/dockerd.pid" && echo "dockerd: running (pid $(cat "$STATE/dockerd.pid"))" || { docker_ok && echo "dockerd: running (not started by the box)" || echo "dockerd: stopped"; }
    alive "$STATE/sshd.pid" && echo "sshd: running on 127.0.0.1:$PORT (pid $(cat "$STATE/sshd.pid"))" || echo "sshd: stopped"
    [ -c /dev/kfd ] && echo "devices: /dev/kfd /dev/dri/renderD128" || echo "devices: missing"
    [ -n "$(missing_packages)" ] && echo "missing packages: $(missing_packages)"
    true
    ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
