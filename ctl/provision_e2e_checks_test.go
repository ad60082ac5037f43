//go:build !node

package ctl_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"counter/provisioning/inventory"
	"counter/provisioning/sshx"
)

// curl runs curl inside a lab client's namespace; it prints the body, then
// a line with the status code.
func (e *e2e) curl(client string, args ...string) (body string, code int, err error) {
	out, err := e.lab(30*time.Second, append([]string{"exec", client, "--", "curl", "-s", "-m", "5", "-w", "\n%{http_code}"}, args...)...)
	if err != nil {
		return "", 0, err
	}
	i := strings.LastIndex(out, "\n")
	code, _ = strconv.Atoi(strings.TrimSpace(out[i+1:]))
	return out[:i], code, nil
}

func client(n inventory.Node) string { return "client-" + n.Continent }

func checkReads(t *testing.T, e *e2e, inv *inventory.Inventory) {
	values := map[string]string{}
	for _, n := range inv.Nodes {
		v, code, err := e.curl(client(n), "https://"+n.Address+"/getvalue")
		if err != nil || code != 200 {
			t.Errorf("%s from %s: GET /getvalue = %d %q, %v", n.Name, client(n), code, v, err)
			continue
		}
		values[n.Name] = strings.TrimSpace(v)
		page, code, err := e.curl(client(n), "https://"+n.Address+"/")
		if err != nil || code != 200 || !strings.Contains(page, values[n.Name]) {
			t.Errorf("%s from %s: GET / = %d (%d bytes), %v; want 200 with the value %s", n.Name, client(n), code, len(page), err, values[n.Name])
		}
	}
	for name, v := range values {
		if v != values[inv.Master().Name] {
			t.Errorf("%s shows %s, the master %s", name, v, values[inv.Master().Name])
		}
	}
}

// replicationDeadline bounds the wait for a write to show on every node. It
// is a deadline for a poll, not a latency target: the WAN round trips and the
// 500 ms re-read make it about a second, and make geobench measures it.
const replicationDeadline = 15 * time.Second

// checkWrite presses on na and polls every node until it shows the new value.
func checkWrite(t *testing.T, e *e2e, inv *inventory.Inventory) {
	na, _ := inv.Node("na")
	jar := filepath.Join(t.TempDir(), "cookies")
	login := fmt.Sprintf("e2e%d", time.Now().UnixNano())
	base := "https://" + na.Address
	if body, code, err := e.curl(client(na), "-c", jar, "-d", "login="+login, "-d", "password=e2e-password-1", base+"/register"); err != nil || code != 201 {
		t.Fatalf("register on na = %d %q, %v", code, body, err)
	}
	body, code, err := e.curl(client(na), "-b", jar, "-X", "POST", base+"/inc")
	if err != nil || code != 200 {
		t.Fatalf("inc on na = %d %q, %v", code, body, err)
	}
	want := strings.TrimSpace(body)
	incAt := time.Now()
	var mu sync.Mutex
	seen := map[string]time.Duration{}
	var wg sync.WaitGroup
	for _, n := range inv.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(incAt) < replicationDeadline {
				if v, code, err := e.curl(client(n), "https://"+n.Address+"/getvalue"); err == nil && code == 200 && strings.TrimSpace(v) == want {
					mu.Lock()
					seen[n.Name] = time.Since(incAt)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, n := range inv.Nodes {
		if d, ok := seen[n.Name]; !ok {
			t.Errorf("%s did not show %s within %s of the increment on na", n.Name, want, replicationDeadline)
		} else {
			t.Logf("%s showed %s after %s", n.Name, want, d.Round(time.Millisecond))
		}
	}
}

// checkManPages finds the pages the package ships where man looks for them.
func checkManPages(t *testing.T, inv *inventory.Inventory) {
	na, _ := inv.Node("na")
	h, err := connector(t, inv).Host(context.Background(), na)
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/usr/share/man/man8/counterd.8.gz", "/usr/share/man/man1/counterctl-node-raid-check.1.gz"} {
		if out, err := h.Query(context.Background(), "zcat", page); err != nil || !strings.Contains(string(out), ".TH ") {
			t.Errorf("zcat %s on na: %v, %.100q; want a manual page", page, err, out)
		}
	}
}

func checkDryRun(t *testing.T, e *e2e, inv *inventory.Inventory) {
	na, _ := inv.Node("na")
	h, err := connector(t, inv).Host(context.Background(), na)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const conf = "/etc/counterd/counterd.yaml"
	if _, err := h.Exec(ctx, "hand edit", "sed", "-i", `s/^listen: .*/listen: ":8081"/`, conf); err != nil {
		t.Fatal(err)
	}
	out, _, err := e.provision(6*time.Minute, "--dry-run", "--limit", "na")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"na: counterd: update " + conf, `-listen: ":8081"`, `+listen: ":443"`, "restart counterd.service"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if b, err := h.Query(ctx, "cat", conf); err != nil || !strings.Contains(string(b), `listen: ":8081"`) {
		t.Errorf("after the dry run the file is %q, %v; want the hand edit still there", b, err)
	}
	if out, _, err := e.provision(6*time.Minute, "--limit", "na"); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(out, "counterd                 changed") {
		t.Errorf("provision after the edit does not report counterd changed:\n%s", out)
	}
	if b, err := h.Query(ctx, "cat", conf); err != nil || !strings.Contains(string(b), `listen: ":443"`) {
		t.Errorf("provision did not restore %s: %q, %v", conf, b, err)
	}
}

// scanScript probes TCP ports of the addresses given, all at once, and
// prints "address port open|refused|filtered" per probe; a dropped SYN
// (filtered) times out after 2 s.
const scanScript = `for a in "$@"; do for p in 22 80 443 6379 6380 8080 9180 26379; do
	( timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$a" "$p" 2>/dev/null
	  case $? in 0) r=open;; 124) r=filtered;; *) r=refused;; esac
	  echo "$a $p $r" ) &
done; done; wait`

// allowed is the port policy: HTTP/HTTPS from anywhere, Redis TLS
// and Sentinel TLS from cluster nodes, SSH to master and mirror from the admin networks
// and each other, to replicas from the master and mirror, counterd's
// metrics (9180) from the admin networks only.
func allowed(inv *inventory.Inventory, from string, to inventory.Node, port int) bool {
	src, isNode := inventory.Node{}, false
	for _, n := range inv.Nodes {
		if n.Address == from {
			src, isNode = n, true
		}
	}
	if isNode && src.Name == to.Name {
		return true // to its own address over lo, which every ruleset accepts
	}
	switch port {
	case 80, 443:
		return true
	case 6380, 26379: // Redis and Sentinel TLS
		return isNode
	case 9180:
		if a, err := netip.ParseAddr(from); err == nil {
			return slices.ContainsFunc(inv.AdminNetworks, func(p netip.Prefix) bool { return p.Contains(a) })
		}
		return false
	case 22:
		if to.Role == inventory.RoleReplica {
			return isNode && src.Role != inventory.RoleReplica
		}
		return isNode && src.Role != inventory.RoleReplica && src.Name != to.Name
	}
	return false
}

func checkPorts(t *testing.T, e *e2e, inv *inventory.Inventory) {
	var addrs []string
	for _, n := range inv.Nodes {
		addrs = append(addrs, n.Address)
	}
	eu, err := e.lab(time.Minute, append([]string{"exec", "client-eu", "--", "bash", "-c", scanScript, "bash"}, addrs...)...)
	if err != nil {
		t.Fatal(err)
	}
	na, _ := inv.Node("na")
	h, err := connector(t, inv).Host(context.Background(), na)
	if err != nil {
		t.Fatal(err)
	}
	fromNA, err := h.Query(context.Background(), append([]string{"bash", "-c", scanScript, "bash"}, addrs...)...)
	if err != nil {
		t.Fatal(err)
	}
	clientAddr := "" // not a node: allowed() treats it as the internet
	for _, scan := range []struct{ from, out string }{{clientAddr, eu}, {na.Address, string(fromNA)}} {
		lines := strings.Split(strings.TrimSpace(scan.out), "\n")
		if len(lines) != 8*len(addrs) {
			t.Errorf("scan from %q printed %d lines, want %d:\n%s", scan.from, len(lines), 8*len(addrs), scan.out)
		}
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) != 3 {
				continue
			}
			port, _ := strconv.Atoi(f[1])
			var to inventory.Node
			for _, n := range inv.Nodes {
				if n.Address == f[0] {
					to = n
				}
			}
			if got, want := f[2] != "filtered", allowed(inv, scan.from, to, port); got != want {
				t.Errorf("from %q to %s port %d: %s, want allowed=%v", scan.from, to.Name, port, f[2], want)
			}
		}
	}
}

func checkJump(t *testing.T, inv *inventory.Inventory) {
	na, _ := inv.Node("na")
	ctx := context.Background()
	c, err := sshx.Dial(ctx, net.JoinHostPort(na.Address, "22"), sshx.Config{User: na.SSH.User, KeyFile: na.SSH.KeyFile,
		KnownHosts: na.SSH.KnownHosts, ConnectTimeout: 3 * time.Second})
	if err == nil {
		c.Close()
		t.Error("SSH straight from the host to replica na worked; want it dropped")
	}
	h, err := connector(t, inv).Host(ctx, na)
	if err != nil {
		t.Fatalf("SSH to na through the master: %v", err)
	}
	if out, err := h.Query(ctx, "hostname"); err != nil {
		t.Errorf("command on na through the master: %q, %v", out, err)
	}
}

func checkHostKey(t *testing.T, e *e2e, inv *inventory.Inventory) {
	na, _ := inv.Node("na")
	old, err := os.ReadFile(na.SSH.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(na.SSH.KnownHosts, old, 0o600) })
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(old)), "\n") {
		if strings.HasPrefix(l, na.Address+" ") {
			l = na.Address + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
		}
		b.WriteString(l + "\n")
	}
	if err := os.WriteFile(na.SSH.KnownHosts, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := e.provision(3*time.Minute, "--limit", "na", "--accept-new-host-keys")
	if err == nil {
		t.Fatalf("provision with a changed host key succeeded:\n%s", out)
	}
	for _, want := range []string{"HOST KEY CHANGED for " + na.Address, "--limit na"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal lacks %q:\n%s", want, out)
		}
	}
}
