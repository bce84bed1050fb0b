// The shell side of the Hemma lock (ops/hemma/lock.ts): one POSIX sh script run on Hemma (over ssh,
// or locally when the docker host is this machine) that acquires, renews, releases or shows the
// lock directory. Every operation runs under `flock` on <lock dir>.guard, so checking the owner and
// replacing it is one atomic step even when two operators' tools race; the kernel drops that guard
// when the script ends, however it ends. Times are Hemma's own clock (`date +%s`), so laptops with
// skewed clocks agree on when a lease expires.
//
// The lock directory holds: token (random, the holder's proof of ownership), owner (one JSON line:
// user, host, pid, tool, since) and expires (epoch seconds; the holder renews it while it runs).
// A directory without a readable `expires` (a crash mid-write) counts as expired.

/** Arguments: op dir token leaseSeconds owner staleOwner (the owner line judged stale: replaced only if still there). Prints one status line, then key=value lines. */
export const LOCK_SCRIPT = `
set -u
op=$1; dir=$2; token=$3; lease=$4; owner=\${5:-}; stale=\${6:-}
umask 000
mkdir -p "$(dirname "$dir")" 2>/dev/null || { echo "ERROR cannot create $(dirname "$dir")"; exit 3; }
command -v flock >/dev/null 2>&1 || { echo "ERROR flock is not installed on this host (util-linux)"; exit 4; }
exec 9>>"$dir.guard" || { echo "ERROR cannot open $dir.guard"; exit 3; }
flock -w 20 9 || { echo "ERROR $dir.guard stayed busy for 20 s"; exit 5; }
now=$(date +%s)
cur=""; [ -f "$dir/token" ] && cur=$(cat "$dir/token")
curowner=""; [ -f "$dir/owner" ] && curowner=$(cat "$dir/owner")
exp=0; [ -f "$dir/expires" ] && exp=$(cat "$dir/expires")
case "$exp" in ''|*[!0-9]*) exp=0 ;; esac
show() { echo "owner=$(cat "$dir/owner" 2>/dev/null)"; echo "expires=$exp"; echo "now=$now"; }
take() {
  rm -rf "$dir" && mkdir "$dir" && printf '%s\\n' "$token" > "$dir/token" && printf '%s\\n' "$owner" > "$dir/owner" \\
    && echo $((now + lease)) > "$dir/expires" || { echo "ERROR cannot write $dir"; exit 3; }
}
case "$op" in
  acquire)
    if [ ! -d "$dir" ]; then take; echo ACQUIRED
    elif [ -n "$stale" ] && [ "$curowner" = "$stale" ]; then show; take; echo TAKEN_OVER
    elif [ "$now" -ge "$exp" ]; then show; take; echo TAKEN_OVER_EXPIRED
    else echo HELD; show
    fi ;;
  renew)
    if [ -d "$dir" ] && [ "$cur" = "$token" ]; then echo $((now + lease)) > "$dir/expires"; echo RENEWED
    else echo LOST; show
    fi ;;
  release)
    if [ -d "$dir" ] && [ "$cur" = "$token" ]; then rm -rf "$dir"; echo RELEASED
    else echo NOT_HELD
    fi ;;
  show)
    if [ -d "$dir" ]; then echo HELD; show; else echo FREE; fi ;;
  *) echo "ERROR unknown op $op"; exit 2 ;;
esac
`;

export type LockStatus = "ACQUIRED" | "TAKEN_OVER" | "TAKEN_OVER_EXPIRED" | "HELD" | "RENEWED" | "LOST" | "RELEASED" | "NOT_HELD" | "FREE" | "ERROR";

export interface LockReply {
  status: LockStatus;
  /** The error text after ERROR. */
  detail: string;
  /** The owner line found in the lock (the previous owner for TAKEN_OVER*). */
  owner?: string;
  expires?: number;
  now?: number;
}

/** Parses the script's output: status lines may follow `show` output (takeovers print the old owner first). */
export function parseLockReply(stdout: string): LockReply {
  const lines = stdout
    .split("\n")
    .map((l) => l.trimEnd())
    .filter(Boolean);
  const reply: LockReply = { status: "ERROR", detail: "no reply from the lock script" };
  for (const line of lines) {
    const m = /^(owner|expires|now)=(.*)$/.exec(line);
    if (m) {
      if (m[1] === "owner") reply.owner = m[2] || undefined;
      else reply[m[1] as "expires" | "now"] = Number(m[2]);
      continue;
    }
    const [word, ...rest] = line.split(" ");
    reply.status = word as LockStatus;
    reply.detail = rest.join(" ");
  }
  return reply;
}
