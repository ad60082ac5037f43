// Package inventory reads and validates the cluster inventory that
// `counterctl provision -i FILE` works from (the format of inventory.example.yaml).
// Everything is checked before anything connects, and every error names the
// file, line and field.
package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Role is a node's place in the replication topology.
type Role string

// Roles a node can have.
const (
	RoleMaster  Role = "master"
	RoleMirror  Role = "mirror"
	RoleReplica Role = "replica"
)

// RAIDPolicy says how the hardware check treats a node without RAID/BBU.
type RAIDPolicy string

// RAID policies.
const (
	RAIDRequired RAIDPolicy = "required"
	RAIDOptional RAIDPolicy = "optional"
	RAIDNone     RAIDPolicy = "none"
)

// Inventory is one validated cluster description. Paths in it are absolute.
type Inventory struct {
	Path          string // the file it was read from, as given to Load
	Cluster       string
	DNS           DNS
	Anycast       Anycast // optional: Address is the zero netip.Addr without it
	HTTPS         HTTPS   // optional: the nodes' certificate, else from the cluster CA
	SSH           SSH     // defaults; a node's effective settings are in Node.SSH
	AdminNetworks []netip.Prefix
	Secrets       map[string]SecretRef
	PKIDir        string
	RAID          RAIDPolicy
	Health        Health // thresholds of `counterctl health`
	Nodes         []Node // in file order; see Ordered for provisioning order

	lookupEnv func(string) (string, bool)
}

// DNS is where the cluster publishes its records.
type DNS struct {
	Zone    string        // fully qualified, with the trailing dot
	Server  string        // host:port
	Service string        // the service's label under Zone (default counter)
	TTL     time.Duration // of every published record, whole seconds (default 30s)
	TSIG    TSIG
	// Secondary: every node serves Zone as an authoritative secondary of
	// Server (Knot, transfers signed with TSIG), so a resolver anywhere
	// asks a nearby node; with anycast, the nearest one. Server is then an
	// IP address: Knot's remotes take addresses, not names.
	Secondary bool
}

// TSIG is the key that signs DNS updates; its secret is read lazily.
type TSIG struct {
	Name      string // fully qualified
	Algorithm string // hmac-sha256 or hmac-sha512
	Secret    SecretRef
}

// SecretRef says where a secret lives: exactly one of File and Env is set.
type SecretRef struct {
	File string // absolute path
	Env  string // environment variable name
}

// String names the reference, never the value.
func (r SecretRef) String() string {
	if r.Env != "" {
		return "$" + r.Env
	}
	return r.File
}

// SSH holds connection settings. KeyFile empty means ssh-agent.
type SSH struct {
	User           string
	Port           int
	KeyFile        string
	KnownHosts     string
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
}

// Node is one machine of the cluster.
type Node struct {
	Name       string
	Address    string // IP address or DNS name
	Continent  string
	Datacenter string // defaults to Continent
	Role       Role
	// PromotionPriority is Redis' replica-priority: Sentinel promotes the
	// lowest non-zero one first; 0 means never. See DefaultPromotionPriority.
	PromotionPriority int
	SSH               SSH  // inventory defaults merged with the node's override
	BGP               *BGP // nil: the node does not announce anycast.address
	Line              int  // where the node starts in the file, for messages
}

// Load reads, decodes and validates the inventory at path. All problems are
// returned together, one *FieldError each, sorted by line.
func Load(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	// A missing home only matters if the file uses `~/`; decode reports it there.
	home, _ := os.UserHomeDir()
	inv, err := decode(data, decodeOptions{file: path, dir: filepath.Dir(abs), home: home})
	if err != nil {
		return nil, err
	}
	inv.Path = path
	inv.lookupEnv = os.LookupEnv
	return inv, nil
}

// Master returns the master node. Load guarantees there is exactly one.
func (inv *Inventory) Master() Node {
	for _, n := range inv.Nodes {
		if n.Role == RoleMaster {
			return n
		}
	}
	panic("inventory: no master; Inventory not built by Load")
}

// Mirror returns the mirror node, if the inventory has one.
func (inv *Inventory) Mirror() (Node, bool) {
	for _, n := range inv.Nodes {
		if n.Role == RoleMirror {
			return n, true
		}
	}
	return Node{}, false
}

// Node returns the node with the given name.
func (inv *Inventory) Node(name string) (Node, bool) {
	for _, n := range inv.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Ordered returns the nodes in provisioning order: the master, the mirror,
// then the replicas by name.
func (inv *Inventory) Ordered() []Node {
	out := slices.Clone(inv.Nodes)
	rank := map[Role]int{RoleMaster: 0, RoleMirror: 1, RoleReplica: 2}
	slices.SortStableFunc(out, func(a, b Node) int {
		if d := rank[a.Role] - rank[b.Role]; d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Limit returns the named nodes in provisioning order; no names means all.
// Unknown names are an error that lists them and the known ones.
func (inv *Inventory) Limit(names []string) ([]Node, error) {
	all := inv.Ordered()
	if len(names) == 0 {
		return all, nil
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	var out []Node
	var known []string
	for _, n := range all {
		known = append(known, n.Name)
		if want[n.Name] {
			out = append(out, n)
			delete(want, n.Name)
		}
	}
	if len(want) > 0 {
		var unknown []string
		for _, n := range names {
			if want[n] {
				unknown = append(unknown, fmt.Sprintf("%q", n))
				delete(want, n)
			}
		}
		return nil, fmt.Errorf("%s: unknown node %s (the inventory has %s)",
			inv.Path, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// Secret reads the secret named under `secrets:`, from its file or
// environment variable, without one trailing newline. Errors name the
// reference, never the value.
func (inv *Inventory) Secret(name string) ([]byte, error) {
	ref, ok := inv.Secrets[name]
	if !ok {
		return nil, fmt.Errorf("secret %s: not defined under secrets: in %s", name, inv.Path)
	}
	return inv.readSecret("secret "+name, ref)
}

// TSIGSecret reads the DNS update key's base64 secret.
func (inv *Inventory) TSIGSecret() ([]byte, error) {
	return inv.readSecret("dns.tsig secret", inv.DNS.TSIG.Secret)
}

func (inv *Inventory) readSecret(what string, ref SecretRef) ([]byte, error) {
	var b []byte
	if ref.Env != "" {
		lookup := inv.lookupEnv
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(ref.Env)
		if !ok {
			return nil, fmt.Errorf("%s: environment variable %s is not set", what, ref.Env)
		}
		b = []byte(v)
	} else {
		var err error
		if b, err = os.ReadFile(ref.File); err != nil {
			// The *PathError names the file, never its content.
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	b = trimNewline(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", what, ref)
	}
	return b, nil
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// FieldError is one problem in the inventory file.
type FieldError struct {
	File  string
	Line  int
	Field string // e.g. nodes[2].role; empty for syntax errors
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
}

// FieldErrors returns the individual problems inside an error from Load.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var fe *FieldError
	if errors.As(err, &fe) && fe == err {
		return []*FieldError{fe}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if errors.As(e, &fe) {
				out = append(out, fe)
			}
		}
	}
	return out
}
