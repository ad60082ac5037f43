package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"counter/internal/netnsdir"
)

// checkOverlap refuses a subnet that meets any host address or route
// (other than the default route), so the lab never shadows a real network.
func checkOverlap(ctx context.Context, subnet netip.Prefix) error {
	out, err := run(ctx, "ip", "-j", "-4", "route", "show", "table", "all")
	if err != nil {
		return err
	}
	var routes []struct {
		Dst string `json:"dst"`
		Dev string `json:"dev"`
	}
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		return fmt.Errorf("parse ip route: %w", err)
	}
	for _, r := range routes {
		if r.Dst == "default" || r.Dst == "" {
			continue
		}
		if p, ok := parsePrefix(r.Dst); ok && p.Overlaps(subnet) {
			return fmt.Errorf("lab subnet %s overlaps the host route %s dev %s; pick another with --subnet", subnet, r.Dst, r.Dev)
		}
	}
	out, err = run(ctx, "ip", "-j", "-4", "addr", "show")
	if err != nil {
		return err
	}
	var links []struct {
		Ifname   string `json:"ifname"`
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return fmt.Errorf("parse ip addr: %w", err)
	}
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if p, ok := parsePrefix(fmt.Sprintf("%s/%d", a.Local, a.PrefixLen)); ok && p.Overlaps(subnet) {
				return fmt.Errorf("lab subnet %s overlaps %s on host interface %s; pick another with --subnet", subnet, p, l.Ifname)
			}
		}
	}
	return nil
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		s += "/32"
	}
	p, err := netip.ParsePrefix(s)
	return p.Masked(), err == nil
}

// addNetns creates a namespace and records it as the lab's only once made,
// so a clean-up never deletes a namespace someone else already had.
func (st *State) addNetns(ctx context.Context, name string) error {
	before := netnsdir.Note()
	if _, err := run(ctx, "ip", "netns", "add", name); err != nil {
		return err
	}
	st.Created.Add(before.Made())
	st.Netns = append(st.Netns, name)
	if err := st.Save(); err != nil {
		return err
	}
	_, err := run(ctx, "ip", "-n", name, "link", "set", "lo", "up")
	return err
}

// setupRouter makes the router namespace, its link to the host, the TUN the
// delay router reads and the rules that steer lab traffic into it, and the
// host's NAT to the outside (the Debian mirror).
func (st *State) setupRouter(ctx context.Context) error {
	p := st.Plan
	if err := st.addNetns(ctx, routerNetns); err != nil {
		return err
	}
	err := inNetns(routerNetns, func() error {
		// Packets come back from the TUN with addresses that route out of
		// other interfaces: reverse-path filtering would drop them.
		for _, kv := range [][2]string{
			{"net/ipv4/conf/all/rp_filter", "0"}, {"net/ipv4/conf/default/rp_filter", "0"},
			{"net/ipv4/ip_forward", "1"},
		} {
			if err := writeSysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	was, err := readSysctl("net/ipv4/ip_forward")
	if err != nil {
		return err
	}
	if was != "1" {
		st.IPForward = was
		if err := st.Save(); err != nil {
			return err
		}
		if err := writeSysctl("net/ipv4/ip_forward", "1"); err != nil {
			return err
		}
	}
	// Objects with the lab's names that this run did not make are refused,
	// not adopted: a clean-up must only remove what it made.
	if _, err := os.Stat("/sys/class/net/" + hostLink); err == nil {
		return fmt.Errorf("host interface %s exists (left by another lab?): `counterctl lab down --state-dir DIR` or `ip link delete %s`", hostLink, hostLink)
	}
	if out, err := run(ctx, "nft", "list", "tables", "ip"); err != nil {
		return err
	} else if strings.Contains(out, "table ip "+nftTable+"\n") {
		return fmt.Errorf("nftables table ip %s exists (left by another lab?): `counterctl lab down --state-dir DIR` or `nft delete table ip %s`", nftTable, nftTable)
	}
	if _, err := run(ctx, "ip", "link", "add", hostLink, "type", "veth", "peer", "name", routerHost, "netns", routerNetns); err != nil {
		return err
	}
	st.HostLink = hostLink
	if err := st.Save(); err != nil {
		return err
	}
	r := p.RouterH.String()
	steps := [][]string{
		{"ip", "addr", "add", p.HostIP.String() + "/24", "dev", hostLink},
		{"ip", "link", "set", hostLink, "up"},
		{"ip", "route", "add", p.Subnet.String(), "via", r, "dev", hostLink},
		{"ip", "-n", routerNetns, "addr", "add", r + "/24", "dev", routerHost},
		{"ip", "-n", routerNetns, "link", "set", routerHost, "up"},
		{"ip", "-n", routerNetns, "route", "add", "default", "via", p.HostIP.String()},
		{"ip", "-n", routerNetns, "tuntap", "add", "dev", tunName, "mode", "tun"},
		{"ip", "-n", routerNetns, "link", "set", tunName, "up"},
		{"ip", "-n", routerNetns, "route", "add", p.Subnet.String(), "dev", tunName, "table", wanTable},
		// Traffic to the host's link is admin traffic: never delayed.
		{"ip", "-n", routerNetns, "rule", "add", "to", netip.PrefixFrom(p.HostIP, 24).Masked().String(), "lookup", "main", "priority", "100"},
	}
	for _, s := range steps {
		if _, err := run(ctx, s...); err != nil {
			return err
		}
	}
	// nft -f applies the file as one transaction: all of it or nothing.
	if _, err := runIn(ctx, strings.NewReader(nftRules(p.Subnet)), "nft", "-f", "-"); err != nil {
		return err
	}
	st.NFTable = true
	return st.Save()
}

// nftRules masquerades lab traffic leaving the lab (to the Debian mirror).
func nftRules(subnet netip.Prefix) string {
	return fmt.Sprintf(`table ip %[1]s {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr %[2]s ip daddr != %[2]s masquerade
	}
}
`, nftTable, subnet)
}

// addMember makes a member's namespace and its link to the router, and sends
// whatever arrives from it for another lab address through the delay router.
func (st *State) addMember(ctx context.Context, m Member) error {
	if err := st.addNetns(ctx, m.Netns()); err != nil {
		return err
	}
	rif := m.RouterIf()
	steps := [][]string{
		{"ip", "-n", routerNetns, "link", "add", rif, "type", "veth", "peer", "name", "eth0", "netns", m.Netns()},
		{"ip", "-n", routerNetns, "addr", "add", m.Gateway.String() + "/24", "dev", rif},
		{"ip", "-n", routerNetns, "link", "set", rif, "up"},
		{"ip", "-n", routerNetns, "rule", "add", "iif", rif, "lookup", wanTable, "priority", "200"},
		{"ip", "-n", m.Netns(), "addr", "add", m.Address.String() + "/24", "dev", "eth0"},
		{"ip", "-n", m.Netns(), "link", "set", "eth0", "up"},
		{"ip", "-n", m.Netns(), "route", "add", "default", "via", m.Gateway.String()},
	}
	for _, s := range steps {
		if _, err := run(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// routeDirect keeps traffic between members with no delay between them
// (nodes in one data centre: the master, the mirror and the DNS server) out
// of the delay router: the router would only hand it back to the kernel,
// and on a machine where every system call is dear (a 2-core VM, see the
// README's "WAN latency") each such packet cost a third of a millisecond of
// CPU that the rest of the lab needed. A rule per direction, before the one
// that sends the member's traffic to the TUN.
func (st *State) routeDirect(ctx context.Context, rtt *RTT) error {
	for _, a := range st.Plan.Members {
		for _, b := range st.Plan.Members {
			if a.Name == b.Name || rtt.PairRTT(a, b) != 0 {
				continue
			}
			if _, err := run(ctx, "ip", "-n", routerNetns, "rule", "add", "iif", a.RouterIf(),
				"to", b.Address.String(), "lookup", "main", "priority", directRulePriority); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyPartitions makes the router's partition table say exactly what
// st.Partitioned does: a partitioned member's traffic is dropped in the
// router unless it goes to or comes from the host's link address, so the
// host keeps its management path while the member is cut off from every
// other member, client and the outside. Downing its link instead would
// cut the host too. With no partition the table is gone.
func (st *State) applyPartitions(ctx context.Context) error {
	var cut []Member
	for _, m := range st.Plan.Members {
		if st.Partitioned[m.Name] {
			cut = append(cut, m)
		}
	}
	// nft -f applies the file as one transaction: the old rules and the new
	// never both hold, nor neither.
	_, err := runIn(ctx, strings.NewReader(partitionRules(st.Plan.HostIP, cut)), "ip", "netns", "exec", routerNetns, "nft", "-f", "-")
	return err
}

// partitionRules is the nft script that replaces the partition table with
// one dropping the forwarded traffic of the cut members, except with host.
// "table ...; delete table ..." deletes it whether or not it was there.
func partitionRules(host netip.Addr, cut []Member) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %[1]s\ndelete table ip %[1]s\n", partitionTable)
	if len(cut) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "table ip %s {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n", partitionTable)
	for _, m := range cut {
		fmt.Fprintf(&b, "\t\tip saddr %[1]s ip daddr != %[2]s drop comment %[3]q\n", m.Address, host, m.Name)
		fmt.Fprintf(&b, "\t\tip daddr %[1]s ip saddr != %[2]s drop comment %[3]q\n", m.Address, host, m.Name)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// teardownNetwork removes, by name, what setupRouter and addMember made.
// Deleting the router namespace deletes every veth pair with it.
func (st *State) teardownNetwork(ctx context.Context) []error {
	var errs []error
	// The host link first: the kernel tears a deleted namespace's links
	// down asynchronously, so deleting ctr0 after the router namespace races.
	if st.HostLink != "" {
		if _, err := run(ctx, "ip", "link", "delete", st.HostLink); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, err)
		}
		st.HostLink = ""
	}
	ns := slices.Clone(st.Netns)
	slices.Reverse(ns)
	for _, n := range ns {
		if _, err := os.Stat("/run/netns/" + n); err != nil {
			continue
		}
		if _, err := run(ctx, "ip", "netns", "delete", n); err != nil {
			errs = append(errs, err)
		}
	}
	st.Netns = nil
	if err := st.Created.Remove(); err != nil {
		errs = append(errs, err)
	}
	if st.NFTable {
		if out, _ := run(ctx, "nft", "list", "tables", "ip"); strings.Contains(out, "table ip "+nftTable+"\n") {
			if _, err := run(ctx, "nft", "delete", "table", "ip", nftTable); err != nil {
				errs = append(errs, err)
			}
		}
		st.NFTable = false
	}
	if st.IPForward != "" {
		if err := writeSysctl("net/ipv4/ip_forward", st.IPForward); err != nil {
			errs = append(errs, err)
		}
		st.IPForward = ""
	}
	return errs
}
