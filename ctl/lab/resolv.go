package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// etcNetns is where `ip netns exec NS` finds files it bind-mounts over
// /etc for NS: /etc/netns/NS/resolv.conf becomes the command's resolv.conf.
const etcNetns = "/etc/netns"

const resolvHeader = "# Written by counterctl lab up; removed by lab down.\n"

// ResolvFile is a client namespace's resolv.conf that up wrote and down removes.
type ResolvFile struct {
	Path    string `json:"path"`
	MadeDir bool   `json:"made_dir,omitempty"` // its /etc/netns/NS directory too
}

// writeResolv makes namespace ns resolve through servers, in order (the
// lab's DNS server, or the anycast address and then it), so
// `lab exec client-eu -- curl https://counter.<zone>/` finds the names
// dns publish put there. The lab's servers are authoritative only: names
// outside the zone do not resolve from a client. A resolv.conf there that
// the lab did not write is left alone, and is an error.
func writeResolv(base, ns string, servers []netip.Addr, zone string) (ResolvFile, error) {
	dir := filepath.Join(base, ns)
	f := ResolvFile{Path: filepath.Join(dir, "resolv.conf")}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return f, fmt.Errorf("resolv.conf of %s: %w", ns, err)
		}
		f.MadeDir = true
	}
	if old, err := os.ReadFile(f.Path); err == nil && !strings.HasPrefix(string(old), resolvHeader) {
		return f, fmt.Errorf("resolv.conf of %s: %s exists and is not the lab's; not overwriting it", ns, f.Path)
	}
	var body strings.Builder
	body.WriteString(resolvHeader)
	for _, a := range servers {
		fmt.Fprintf(&body, "nameserver %s\n", a)
	}
	fmt.Fprintf(&body, "search %s\n", strings.TrimSuffix(zone, "."))
	if len(servers) > 1 {
		// Until provision starts the nodes' secondaries, nothing answers
		// DNS on the anycast address: at glibc's default 5 s a try, every
		// lookup would stall that long before it asked the next server.
		body.WriteString("options timeout:1 attempts:2\n")
	}
	if err := os.WriteFile(f.Path, []byte(body.String()), 0o644); err != nil {
		return f, fmt.Errorf("resolv.conf of %s: %w", ns, err)
	}
	return f, nil
}

// remove deletes the file, and its directory when up made it and it is empty.
func (f ResolvFile) remove() error {
	if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if f.MadeDir {
		if err := os.Remove(filepath.Dir(f.Path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", filepath.Dir(f.Path), err)
		}
	}
	return nil
}

// writeClientResolvs gives every client namespace the lab's DNS server;
// with DNSSecondaries, the anycast address first, so the node nearest the
// client answers once provisioned. base (/etc/netns) is made if missing,
// and then removed by down.
func (st *State) writeClientResolvs(base string) error {
	if _, err := os.Stat(base); errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(base, 0o755); err != nil {
			return fmt.Errorf("client resolv.conf: %w", err)
		}
		st.ResolvBase = base
	}
	servers := []netip.Addr{st.Plan.OfKind(KindDNS)[0].Address}
	if st.DNSSecondaries {
		servers = append([]netip.Addr{st.Plan.Anycast}, servers...)
	}
	for _, c := range st.Plan.OfKind(KindClient) {
		f, err := writeResolv(base, c.Netns(), servers, st.Zone)
		if f.MadeDir || err == nil {
			st.Resolv = append(st.Resolv, f)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// removeResolvs undoes writeClientResolvs.
func (st *State) removeResolvs() []error {
	var errs []error
	for _, f := range st.Resolv {
		if err := f.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	st.Resolv = nil
	if st.ResolvBase != "" {
		if err := os.Remove(st.ResolvBase); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		st.ResolvBase = ""
	}
	return errs
}
