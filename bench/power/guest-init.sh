#!/bin/sh
# PID 1 of the power-cut VM (bench/power): no systemd, just what the edge needs. Mounts the kernel
# filesystems, reports what the kernel did with the root filesystem's journal after the last cut,
# brings up user-mode networking (the host is 10.0.2.2) and runs the installed bv-edge package as
# its service user, again and again. Lines for the harness go to the serial console with a
# "bv-power:" prefix; the edge's own pino lines go there too.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
console=/dev/ttyS0
say() { echo "bv-power: $*" >"$console"; }

mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mountpoint -q /run || mount -t tmpfs tmpfs /run
say "init uptime=$(cut -d' ' -f1 /proc/uptime)"
# ext4 replays its journal when it mounts the root after a cut ("recovery complete").
dmesg | grep -E 'EXT4-fs|I/O error|recover' | while read -r line; do say "kernel: $line"; done

ip link set lo up
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set "$dev" up
ip addr add 10.0.2.15/24 dev "$dev"
ip route add default via 10.0.2.2
say "network $dev up"

while :; do
  runuser -u bv-edge -- env NODE_ENV=production /usr/bin/bv-edge --config /etc/bv-edge/edge.yaml >"$console" 2>&1
  say "edge exited status=$?"
  sleep 1
done
