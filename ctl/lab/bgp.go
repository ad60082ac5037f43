package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"text/template"
	"time"

	"counter/ctl/lab/wan"
	"counter/provisioning/anycast"
)

// The lab's BGP: the router namespace runs BIRD as AS RouterASN, one eBGP
// session (with BFD) to every node; node N (on link N) is AS RouterASN+N.
// For each client it keeps a routing table whose route to the anycast
// address prefers the node nearest that client by the WAN matrix, exported
// to kernel table clientTableBase+i; an `ip rule` routes the client's
// packets by it once the delay router writes them back.
const (
	RouterASN       = 65000
	clientTableBase = 1000
	// Before the main table, after the rule that keeps the host link undelayed.
	anycastRulePriority = "150"
	wanBirdConf         = "wan-bird.conf"
	wanBirdSock         = "wan-bird.ctl"
	wanBirdLog          = "wan-bird.log"
)

// NodeASN is the AS number of the node on link m.Link.
func NodeASN(m Member) uint32 { return RouterASN + uint32(m.Link) }

// anycastAddr is the .1 of the subnet's last /24, when no link uses it.
func anycastAddr(subnet netip.Prefix, links int) netip.Addr {
	last := 1<<(24-subnet.Bits()) - 1
	if links > last {
		return netip.Addr{}
	}
	b := subnet.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(last)<<8 | 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// birdSym is a member's name as a BIRD symbol (no dashes).
func birdSym(prefix, name string) string { return prefix + strings.ReplaceAll(name, "-", "_") }

type birdPeer struct {
	Proto   string
	Address netip.Addr
	ASN     uint32
}

type birdClient struct {
	Table, Pipe, Kernel string
	KernelTable         int
	Prefs               []birdPref
}

type birdPref struct {
	Proto string
	Pref  int
}

var routerBirdTmpl = template.Must(template.New("wan-bird").Parse(`# Written by counterctl lab up: the lab's BGP router (in {{.Netns}}).
router id {{.RouterID}};

protocol device {
}

protocol bfd {
	interface "{{.Prefix}}v*" {
		min rx interval 100 ms;
		min tx interval 100 ms;
		multiplier 3;
	};
}
{{range .Peers}}
protocol bgp {{.Proto}} {
	local as {{$.ASN}};
	neighbor {{.Address}} as {{.ASN}};
	connect delay time 1;
	connect retry time 5;
	error wait time 1, 30;
	bfd on;
	ipv4 {
		import where net = {{$.Anycast}}/32;
		export none;
	};
}
{{end}}
{{- range .Clients}}
ipv4 table {{.Table}};

# The nearest node by the WAN matrix wins (preference = 10000 - RTT in ms).
protocol pipe {{.Pipe}} {
	table master4;
	peer table {{.Table}};
	import none;
	export filter {
{{- range .Prefs}}
		if proto = "{{.Proto}}" then preference = {{.Pref}};
{{- end}}
		accept;
	};
}

protocol kernel {{.Kernel}} {
	kernel table {{.KernelTable}};
	ipv4 {
		table {{.Table}};
		import none;
		export all;
	};
}
{{end -}}
`))

// RouterBirdConf is the router namespace's bird.conf for a plan.
func RouterBirdConf(p *Plan, rtt *RTT) ([]byte, error) {
	if !p.Anycast.IsValid() {
		return nil, errors.New("the plan has no anycast address")
	}
	v := struct {
		Netns, Prefix string
		RouterID      netip.Addr
		ASN           int
		Anycast       netip.Addr
		Peers         []birdPeer
		Clients       []birdClient
	}{Netns: routerNetns, Prefix: Prefix, RouterID: p.RouterH, ASN: RouterASN, Anycast: p.Anycast}
	nodes := p.OfKind(KindNode)
	for _, n := range nodes {
		v.Peers = append(v.Peers, birdPeer{Proto: birdSym("n_", n.Name), Address: n.Address, ASN: NodeASN(n)})
	}
	for i, c := range p.OfKind(KindClient) {
		bc := birdClient{
			Table: birdSym("t_", c.Name), Pipe: birdSym("p_", c.Name), Kernel: birdSym("k_", c.Name),
			KernelTable: clientTableBase + i,
		}
		for _, n := range nodes {
			ms := int(rtt.PairRTT(c, n) / time.Millisecond)
			bc.Prefs = append(bc.Prefs, birdPref{Proto: birdSym("n_", n.Name), Pref: max(10000-ms, 1)})
		}
		v.Clients = append(v.Clients, bc)
	}
	var b bytes.Buffer
	if err := routerBirdTmpl.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("render %s: %w", wanBirdConf, err)
	}
	return b.Bytes(), nil
}

// AnycastRouting is what the delay router needs to know of it: each
// client's kernel table.
func AnycastRouting(p *Plan) *wan.Anycast {
	if !p.Anycast.IsValid() {
		return nil
	}
	a := &wan.Anycast{Address: p.Anycast}
	for i, c := range p.OfKind(KindClient) {
		a.Clients = append(a.Clients, wan.ClientTable{Client: c.Address, Table: clientTableBase + i})
	}
	return a
}

// setupAnycast routes each client's packets to the anycast address by its
// table once the delay router has held them, and sends them nowhere (not
// out to the host) while no node announces.
func (st *State) setupAnycast(ctx context.Context) error {
	a := AnycastRouting(st.Plan)
	if a == nil {
		return nil
	}
	dst := netip.PrefixFrom(a.Address, 32).String()
	steps := [][]string{{"ip", "-n", routerNetns, "route", "add", "unreachable", dst}}
	for _, c := range a.Clients {
		steps = append(steps, []string{"ip", "-n", routerNetns, "rule", "add", "iif", tunName,
			"from", c.Client.String(), "to", dst, "lookup", fmt.Sprint(c.Table), "priority", anycastRulePriority})
	}
	for _, s := range steps {
		if _, err := run(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// startBird runs the host's bird (Debian bird2) inside the router namespace.
func (l *Lab) startBird(ctx context.Context, st *State) error {
	if !st.Plan.Anycast.IsValid() {
		return nil
	}
	if _, err := exec.LookPath("bird"); err != nil {
		return errors.New("the lab's BGP router needs bird on this host: apt-get install bird2")
	}
	rtt, err := ParseRTT(bytes.NewReader(defaultRTT))
	if err != nil {
		return err
	}
	conf, err := RouterBirdConf(st.Plan, rtt)
	if err != nil {
		return err
	}
	confPath, sock := st.path(wanBirdConf), st.path(wanBirdSock)
	if err := writeFile(confPath, conf, 0o644); err != nil {
		return err
	}
	if _, err := run(ctx, "bird", "-p", "-c", confPath); err != nil {
		return fmt.Errorf("bgp router: %w", err)
	}
	// -f: in the foreground, so the pid is bird's (ip netns exec execs it).
	p, err := startDetached([]string{"ip", "netns", "exec", routerNetns, "bird", "-f", "-c", confPath, "-s", sock},
		st.path(wanBirdLog))
	if err != nil {
		return fmt.Errorf("bgp router: %w", err)
	}
	st.Bird = p
	if err := st.Save(); err != nil {
		return err
	}
	b := anycast.Bird{Socket: sock}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := b.Command(ctx, "show status"); err == nil {
			return nil
		} else if !p.Alive() || time.Now().After(deadline) {
			log, _ := os.ReadFile(st.path(wanBirdLog))
			return fmt.Errorf("bgp router (bird) does not answer on %s: %v: %s", sock, err, lastLines(string(log), 5))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopBird stops the router's bird by pid (a no-op when none was started).
func (st *State) stopBird(ctx context.Context) error {
	if err := st.Bird.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if !st.Bird.Wait(ctx, 5*time.Second) {
		st.Bird.Signal(syscall.SIGKILL)
	}
	return nil
}
