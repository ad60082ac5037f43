#!/usr/bin/env bash
# What a running lab costs the machine, over SECONDS (default 10):
#   - packets a second through the delay router (entering its TUN), and by
#     service port as the router's namespace forwards them (a packet through
#     the TUN is forwarded twice, so these count it twice);
#   - the machine's CPU busy share and CPU pressure (/proc/pressure/cpu).
# It adds a counting nftables table ctr_load to the router's namespace and
# deletes it on exit, also on failure. Root only; the lab must be up.
#   usage: ctl/scripts/lab-load.sh [SECONDS]
set -euo pipefail
secs="${1:-10}"
ns=ctr-wan
[ "$(id -u)" -eq 0 ] || { echo "lab-load: needs root" >&2; exit 2; }
ip netns list | grep -qw "$ns" || { echo "lab-load: no namespace $ns: is the lab up?" >&2; exit 2; }

names=(tun redis sentinel http ssh dns bgp bfd)
rules='
    oifname "ctrtun" counter name "tun"
    tcp sport 6380 counter name "redis"
    tcp dport 6380 counter name "redis"
    tcp sport 26379 counter name "sentinel"
    tcp dport 26379 counter name "sentinel"
    tcp sport { 80, 443 } counter name "http"
    tcp dport { 80, 443 } counter name "http"
    tcp sport 22 counter name "ssh"
    tcp dport 22 counter name "ssh"
    udp dport 53 counter name "dns"'
decl=""
for n in "${names[@]}"; do decl+="  counter $n {}"$'\n'; done
cleanup() { ip netns exec "$ns" nft delete table ip ctr_load 2>/dev/null || true; }
trap cleanup EXIT
ip netns exec "$ns" nft -f - <<EOF
table ip ctr_load {
$decl
  chain forward {
    type filter hook forward priority -10; policy accept;$rules
  }
  chain input {
    type filter hook input priority -10; policy accept;
    tcp dport 179 counter name "bgp"
    udp dport { 3784, 3785, 4784 } counter name "bfd"
  }
}
EOF

snap() { ip netns exec "$ns" nft list counters table ip ctr_load | awk '/counter /{n=$2} /packets/{print n, $2}' | sort; }
cpu() { awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
a="$(snap)"; read -r busy0 idle0 < <(cpu)
sleep "$secs"
b="$(snap)"; read -r busy1 idle1 < <(cpu)

echo "over ${secs}s:"
join <(echo "$a") <(echo "$b") | awk -v s="$secs" '{printf "  %-9s %7.0f packets/s%s\n", $1, ($3-$2)/s, ($1 == "tun" ? " (through the delay router)" : "")}'
awk -v b="$((busy1 - busy0))" -v i="$((idle1 - idle0))" 'BEGIN{printf "  cpu busy  %6.0f %%\n", 100*b/(b+i)}'
awk '/^some/{sub("avg10=", "", $2); print "  cpu pressure (some, avg10) " $2 " %"}' /proc/pressure/cpu
