// Package dnswatch keeps the cluster's names in its DNS zone in step
// without an admin: on each node, `counterctl node dns-watch` checks every
// node's /readyz with rise and fall counts, asks the local Sentinel who is
// master, and, only on the node Sentinel names master (with a quorum
// reachable), publishes the records with provisioning/dnsupdate. Every node
// runs one, so whichever node is promoted takes over; publishing from two
// at once is still safe (the SOA prerequisite turns a race into a retry).
package dnswatch

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"counter/provisioning/inventory"
)

// ConfigPath is where provision writes a node's watcher configuration.
const ConfigPath = "/etc/counter/dns-watch.json"

// Config is what the watcher knows of the cluster: the inventory's DNS
// keys, its nodes and the continents' distances. It holds no secret: those
// are files the unit hands over (systemd LoadCredential).
type Config struct {
	Self       string `json:"self"`        // this node's name
	Cluster    string `json:"cluster"`     // the ownership records' cluster, Sentinel's master name
	Zone       string `json:"zone"`        // fully qualified
	Service    string `json:"service"`     // label under Zone
	TTLSeconds int    `json:"ttl_seconds"` // of every record
	Anycast    string `json:"anycast,omitempty"`
	Server     string `json:"server"` // DNS primary, host:port
	TSIGName   string `json:"tsig_name"`
	TSIGAlg    string `json:"tsig_algorithm"`
	Sentinel   string `json:"sentinel"` // the local sentinel, host:port
	Nodes      []Node `json:"nodes"`
	RTT        []RTT  `json:"rtt,omitempty"` // between continents; none: inventory order
	// TLSCertSHA256 is the node's Redis certificate's digest, unused by the
	// watcher: a renewed certificate changes this file, so provision
	// restarts the watcher, which gets the new one through LoadCredential.
	TLSCertSHA256 string `json:"tls_cert_sha256,omitempty"`
}

// Node is one cluster node as the watcher sees it.
type Node struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	Continent string `json:"continent"`
	Redis     string `json:"redis"`  // host:port as Sentinel names it when master
	Readyz    string `json:"readyz"` // counterd's /readyz URL
}

// RTT is the round trip between two continents, in milliseconds.
type RTT struct {
	A, B string
	Ms   float64
}

// Load reads and checks a configuration file.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("dns-watch config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("dns-watch config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("dns-watch config %s: %w", path, err)
	}
	return c, nil
}

// Marshal is the file provision writes.
func (c Config) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("dns-watch config: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Validate says what is missing or malformed.
func (c Config) Validate() error {
	var errs []error
	req := func(v, what string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("no %s", what))
		}
	}
	req(c.Self, "self")
	req(c.Cluster, "cluster")
	req(c.Zone, "zone")
	req(c.Service, "service")
	req(c.TSIGName, "tsig_name")
	if _, _, err := net.SplitHostPort(c.Server); err != nil {
		errs = append(errs, fmt.Errorf("server %q: %w", c.Server, err))
	}
	if _, _, err := net.SplitHostPort(c.Sentinel); err != nil {
		errs = append(errs, fmt.Errorf("sentinel %q: %w", c.Sentinel, err))
	}
	if c.TTLSeconds < 1 {
		errs = append(errs, fmt.Errorf("ttl_seconds %d is not positive", c.TTLSeconds))
	}
	if c.Anycast != "" {
		if _, err := netip.ParseAddr(c.Anycast); err != nil {
			errs = append(errs, fmt.Errorf("anycast: %w", err))
		}
	}
	seen := map[string]bool{}
	for i, n := range c.Nodes {
		if n.Name == "" || n.Address == "" || n.Continent == "" || n.Readyz == "" || n.Redis == "" {
			errs = append(errs, fmt.Errorf("nodes[%d]: name, address, continent, redis and readyz are all required", i))
		}
		if seen[n.Name] {
			errs = append(errs, fmt.Errorf("nodes[%d]: %q twice", i, n.Name))
		}
		seen[n.Name] = true
	}
	if len(c.Nodes) == 0 {
		errs = append(errs, errors.New("no nodes"))
	} else if !seen[c.Self] {
		errs = append(errs, fmt.Errorf("self %q is not among the nodes", c.Self))
	}
	return errors.Join(errs...)
}

// Inventory is the part of an inventory dnsupdate.Want reads.
func (c Config) Inventory() *inventory.Inventory {
	inv := &inventory.Inventory{Cluster: c.Cluster, DNS: inventory.DNS{
		Zone: c.Zone, Server: c.Server, Service: c.Service, TTL: time.Duration(c.TTLSeconds) * time.Second,
		TSIG: inventory.TSIG{Name: c.TSIGName, Algorithm: c.TSIGAlg}}}
	if a, err := netip.ParseAddr(c.Anycast); err == nil {
		inv.Anycast.Address = a
	}
	for _, n := range c.Nodes {
		inv.Nodes = append(inv.Nodes, inventory.Node{Name: n.Name, Address: n.Address, Continent: n.Continent})
	}
	return inv
}

// Distances is the RTT list as dnsupdate.Distances.
type Distances map[[2]string]time.Duration

// Distances indexes the RTT list both ways.
func (c Config) Distances() Distances {
	d := Distances{}
	for _, r := range c.RTT {
		v := time.Duration(r.Ms * float64(time.Millisecond))
		d[[2]string{r.A, r.B}], d[[2]string{r.B, r.A}] = v, v
	}
	return d
}

// Between is the RTT between two continents.
func (d Distances) Between(a, b string) (time.Duration, bool) {
	v, ok := d[[2]string{a, b}]
	return v, ok
}
