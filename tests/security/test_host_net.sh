#!/usr/bin/env bash
# A container must not reach host services bound only to 127.0.0.1
# (CVE-2020-8558 class). The bridge has route_localnet=1 (needed to publish
# ports on 127.0.0.1), so the host would route a packet *to* 127.0.0.1 that
# arrives from the bridge. A default container has CAP_NET_RAW: it writes
# such a frame to the gateway's MAC with a raw socket. Here the frames are
# written from the container's own network namespace (nsenter --net, eth0,
# its address and MAC) by a small Python sender, as the container would.
# minictr's table drops them (kube-proxy's rule: only DNAT'ed traffic to
# 127.0.0.0/8 passes); published ports on 127.0.0.1 and on all addresses
# still answer the host.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

[[ -f $BUSYBOX_TAR ]] || fail "busybox image not built: $BUSYBOX_TAR"
command -v nsenter >/dev/null || fail "nsenter missing (util-linux)"
mctr load -q "$BUSYBOX_TAR" >/dev/null

# Host services: UDP and TCP on 127.0.0.1 only, and a UDP control on the
# gateway's address (which containers may reach). Each datagram is logged.
cat > "$TEST_TMP/services.py" <<'EOF'
import select, socket, sys
gw, log = sys.argv[1], sys.argv[2]
udp_lo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp_lo.bind(("127.0.0.1", 0))
tcp_lo = socket.socket(socket.AF_INET, socket.SOCK_STREAM); tcp_lo.bind(("127.0.0.1", 0)); tcp_lo.listen(8)
udp_gw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp_gw.bind((gw, 0))
print(udp_lo.getsockname()[1], tcp_lo.getsockname()[1], udp_gw.getsockname()[1], flush=True)
names = {udp_lo: "lo", udp_gw: "gw"}
while True:
    for s in select.select([udp_lo, udp_gw, tcp_lo], [], [])[0]:
        if s is tcp_lo:
            s.accept()[0].close()
            continue
        data = s.recv(100)
        with open(log, "a") as f:
            f.write(names[s] + ":" + data.decode() + "\n")
EOF

# The container's raw sender: one Ethernet frame from eth0 to the gateway's
# MAC, IPv4 to DST, UDP with a payload or a TCP SYN. For a SYN it reports
# whether a SYN-ACK came back within 1.5 s.
cat > "$TEST_TMP/rawsend.py" <<'EOF'
import socket, struct, sys, time
src_mac, dst_mac, src_ip, dst_ip, proto, dport, payload = sys.argv[1:8]
dport = int(dport)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
if proto == "udp":
    l4 = struct.pack("!HHHH", 40000, dport, 8 + len(payload), 0) + payload.encode()
    pnum = 17
else:
    hdr = struct.pack("!HHIIBBHHH", 40001, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(hdr))
    l4 = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
    pnum = 6
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, pnum, 0, src, dst)
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00"
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("eth0", 0))
for _ in range(3):
    s.send(eth + ip + l4)
    time.sleep(0.05)
if proto == "tcp":
    s.settimeout(0.2)
    end = time.time() + 1.5
    while time.time() < end:
        try:
            f = s.recv(2000)
        except socket.timeout:
            continue
        p = f[14:]
        if len(p) < 40 or p[9] != 6: continue
        ihl = (p[0] & 15) * 4
        sport, = struct.unpack("!H", p[ihl:ihl + 2])
        if p[12:16] == dst and sport == dport and p[ihl + 13] & 0x12 == 0x12:
            print("synack"); sys.exit(0)
    print("none")
EOF

mctr run -d --name prober busybox sleep 300 >/dev/null
gw_mac=$(cat "/sys/class/net/$MINICTR_BRIDGE/address")
read -r pid ip mac gw < <(mctr inspect prober | python3 -c 'import json,sys; c=json.load(sys.stdin)[0]; n=c["NetworkSettings"]; print(c["State"]["Pid"], n["IPAddress"], n["MacAddress"], n["Gateway"])')
[[ -n $pid && -n $ip && -n $mac && -n $gw ]] || fail "inspect: pid=$pid ip=$ip mac=$mac gw=$gw"

log=$TEST_TMP/received.log
: > "$log"
coproc SERVICES { exec python3 -u "$TEST_TMP/services.py" "$gw" "$log"; }
HOST_PIDS+=("$SERVICES_PID")
read -r -t 10 udp_lo tcp_lo udp_gw <&"${SERVICES[0]}" || fail "host services did not start"

send() { nsenter --net="/proc/$pid/ns/net" python3 "$TEST_TMP/rawsend.py" "$mac" "$gw_mac" "$ip" "$@"; }

# Control: the same sender reaches a service on the gateway's address.
send "$gw" udp "$udp_gw" control >/dev/null
sleep 0.5
grep -c '^gw:control$' "$log" >/dev/null || fail "control: a raw datagram to $gw:$udp_gw did not arrive (sender broken)"
echo "ok  control: a raw datagram from the container reaches $gw:$udp_gw"

# attack LABEL: UDP and TCP SYN to the host's 127.0.0.1 services must go nowhere.
# The host first sends the container a datagram, so it knows the container's
# MAC: its SYN-ACK from 127.0.0.1 would otherwise wait for an ARP answer the
# container's kernel never gives to a request from a loopback address.
attack() {
  python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (sys.argv[1], 9))' "$ip"
  sleep 0.3
  send 127.0.0.1 udp "$udp_lo" "$1" >/dev/null
  local synack
  synack=$(send 127.0.0.1 tcp "$tcp_lo" x)
  sleep 0.5
  if grep -c "^lo:$1\$" "$log" >/dev/null; then
    fail "$1: a datagram from the container reached the host's 127.0.0.1:$udp_lo"
  fi
  assert_eq none "$synack" "$1: TCP SYN from the container to the host's 127.0.0.1:$tcp_lo"
  echo "ok  $1: nothing from the container reaches the host's 127.0.0.1 services"
}
attack leak

# A table an older minictr made (no guard chain) gets the guard at the next attach.
nft flush chain ip "$MINICTR_NFT_TABLE" input
nft delete chain ip "$MINICTR_NFT_TABLE" input
mctr run --rm --network bridge busybox true
nft list chain ip "$MINICTR_NFT_TABLE" input >/dev/null 2>&1 || fail "the guard chain was not added to an existing table"
attack leak-after-upgrade

# Published ports still answer the host on 127.0.0.1 (DNAT'ed, so they pass).
fetch() { python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' "$1"; }
mctr run -d --name web -p 127.0.0.1::8080 -p 8080 busybox \
  sh -c 'echo hello > /tmp/i; exec httpd -f -p 8080 -h /tmp' >/dev/null
read -r lo_port any_port < <(mctr inspect web | python3 -c '
import json,sys
p = json.load(sys.stdin)[0]["NetworkSettings"]["Ports"]["8080/tcp"]
print(" ".join(m["HostPort"] for m in sorted(p, key=lambda m: m["HostIp"] != "127.0.0.1")))')
[[ -n $lo_port && -n $any_port ]] || fail "published ports of web not found in inspect"
for port in "$lo_port" "$any_port"; do
  out=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    out=$(fetch "http://127.0.0.1:$port/i" 2>/dev/null) && break
    sleep 0.2
  done
  assert_eq hello "$out" "http://127.0.0.1:$port from the host"
done
echo "ok  ports published on 127.0.0.1 and on all addresses answer the host's loopback"
echo "PASS"
