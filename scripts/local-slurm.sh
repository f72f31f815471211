#!/usr/bin/env bash
# A single-node Slurm on this machine, for tests and CI: `local-slurm.sh start|stop|status`.
#
# start: installs Debian's slurm-wlm and munge when missing, writes a one-node slurm.conf (this
# host, all its CPUs, one partition `local`), starts munged, slurmctld and slurmd, and waits until
# the node takes jobs. Idempotent: a Slurm that already answers is left as it is.
# stop: stops the three daemons (the configuration and packages stay).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
STATE=/var/spool/slurmctld
SPOOL=/var/spool/slurmd
LOGS=/var/log/slurm
RUN=/run/slurm

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
      && command -v sbatch >/dev/null; then
    return
  fi
  echo "local-slurm: installing slurm-wlm and munge (Debian packages)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
  local host cpus memory
  host=$(hostname -s)
  cpus=$(nproc)
  memory=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
  as_root mkdir -p "$CONF_DIR" "$STATE" "$SPOOL" "$LOGS" "$RUN"
  as_root tee "$CONF" >/dev/null <<CONF
# Written by scripts/local-slurm.sh: a single-node Slurm for tests.
ClusterName=jaif-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MaxArraySize=1001
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
MinJobAge=300
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
  if pgrep -x munged >/dev/null; then return; fi
  if [ ! -s /etc/munge/munge.key ]; then
    as_root mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      as_root mungekey --create --keyfile=/etc/munge/munge.key --force
    else
      as_root dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
    fi
  fi
  as_root mkdir -p /run/munge /var/lib/munge /var/log/munge
  as_root chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  as_root chmod 0700 /etc/munge
  as_root chmod 0400 /etc/munge/munge.key
  if id munge >/dev/null 2>&1; then
    as_root runuser -u munge -- /usr/sbin/munged
  else
    as_root /usr/sbin/munged --force
  fi
}

answers() {
  scontrol ping 2>/dev/null | grep -q "is UP" && sinfo --noheader --format=%T 2>/dev/null | grep -qE "idle|mixed|alloc"
}

start() {
  install_packages
  if answers; then
    echo "local-slurm: already running"
    return
  fi
  write_config
  start_munge
  pgrep -x slurmctld >/dev/null || as_root slurmctld
  pgrep -x slurmd >/dev/null || as_root slurmd
  for _ in $(seq 1 60); do
    if answers; then
      echo "local-slurm: running ($(hostname -s), $(nproc) CPUs, partition local)"
      return
    fi
    as_root scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 1
  done
  echo "local-slurm: Slurm did not come up; logs in $LOGS" >&2
  tail -n 20 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 || true
  exit 1
}

stop() {
  as_root pkill -x slurmd 2>/dev/null || true
  as_root pkill -x slurmctld 2>/dev/null || true
  as_root pkill -x munged 2>/dev/null || true
  echo "local-slurm: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if answers; then echo "local-slurm: running"; else echo "local-slurm: not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
