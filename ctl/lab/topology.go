package lab

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Kinds of lab members. Only KindNode members are provisioning nodes; the DNS
// server and the clients live in the lab state file, not in the inventory.
const (
	KindNode   = "node"
	KindDNS    = "dns"
	KindClient = "client"
)

//go:embed topology.yaml
var defaultTopology []byte

//go:embed wan-rtt.tsv
var defaultRTT []byte

// Topology is what a --nodes file describes: the zone, the nodes and the
// continents that get a client namespace.
type Topology struct {
	Zone    string     `yaml:"zone"`
	Nodes   []NodeSpec `yaml:"nodes"`
	Clients []string   `yaml:"clients"`
}

// NodeSpec is one container in a topology file.
type NodeSpec struct {
	Name       string `yaml:"name"`
	Continent  string `yaml:"continent"`
	Datacenter string `yaml:"datacenter"`
	Role       string `yaml:"role"`
	line       int
}

// UnmarshalYAML keeps the line so validation errors can point at it.
// yaml.Node.Decode does not inherit the decoder's KnownFields, so unknown
// keys are checked here.
func (n *NodeSpec) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(v.Content); i += 2 {
			switch k := v.Content[i]; k.Value {
			case "name", "continent", "datacenter", "role":
			default:
				return fmt.Errorf("line %d: field %s not found in a node (name, continent, datacenter, role)", k.Line, k.Value)
			}
		}
	}
	type plain NodeSpec
	var p plain
	if err := v.Decode(&p); err != nil {
		return err
	}
	*n = NodeSpec(p)
	n.line = v.Line
	return nil
}

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	zoneRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+$`)
)

// DefaultTopology is the design's cluster: master and mirror in eu, one
// replica per other continent, a DNS server in eu and a client per continent.
func DefaultTopology() (*Topology, error) {
	return ParseTopology("topology.yaml (built in)", defaultTopology)
}

// LoadTopology reads and checks a --nodes file.
func LoadTopology(path string) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read nodes file: %w", err)
	}
	return ParseTopology(path, b)
}

// ParseTopology decodes a topology strictly (unknown fields are errors) and
// checks it against the continents of the embedded RTT matrix.
func ParseTopology(name string, b []byte) (*Topology, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var t Topology
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rtt, err := ParseRTT(bytes.NewReader(defaultRTT))
	if err != nil {
		return nil, err
	}
	if err := t.check(name, rtt); err != nil {
		return nil, err
	}
	return &t, nil
}

func (t *Topology) check(file string, rtt *RTT) error {
	var errs []error
	bad := func(line int, field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", file, line, field, fmt.Sprintf(format, args...)))
	}
	if t.Zone == "" {
		t.Zone = "lab.counter.test."
	}
	if t.Zone[len(t.Zone)-1] != '.' {
		t.Zone += "."
	}
	if !zoneRE.MatchString(t.Zone) {
		errs = append(errs, fmt.Errorf("%s: zone: %q is not a lower-case DNS name", file, t.Zone))
	}
	if len(t.Nodes) == 0 {
		errs = append(errs, fmt.Errorf("%s: nodes: at least one node is needed", file))
	}
	seen := map[string]bool{}
	roles := map[string]int{}
	var masterDC string
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if !nameRE.MatchString(n.Name) {
			bad(n.line, "name", "%q must match %s", n.Name, nameRE)
		}
		if seen[n.Name] {
			bad(n.line, "name", "%q is used twice", n.Name)
		}
		seen[n.Name] = true
		if !rtt.Knows(n.Continent) {
			bad(n.line, "continent", "%q is not in the RTT matrix (%v)", n.Continent, rtt.Continents())
		}
		if n.Datacenter == "" {
			n.Datacenter = n.Continent
		}
		switch n.Role {
		case "master":
			masterDC = n.Datacenter
		case "mirror", "replica", "dns":
		default:
			bad(n.line, "role", "%q must be master, mirror, replica or dns", n.Role)
		}
		roles[n.Role]++
	}
	if roles["master"] != 1 {
		errs = append(errs, fmt.Errorf("%s: nodes: exactly one master is needed, found %d", file, roles["master"]))
	}
	if roles["dns"] != 1 {
		errs = append(errs, fmt.Errorf("%s: nodes: exactly one dns node is needed, found %d", file, roles["dns"]))
	}
	if roles["mirror"] > 1 {
		errs = append(errs, fmt.Errorf("%s: nodes: at most one mirror, found %d", file, roles["mirror"]))
	}
	for _, n := range t.Nodes {
		if n.Role == "mirror" && masterDC != "" && n.Datacenter != masterDC {
			bad(n.line, "datacenter", "the mirror must be in the master's datacenter %q", masterDC)
		}
	}
	for _, c := range t.Clients {
		if !rtt.Knows(c) {
			errs = append(errs, fmt.Errorf("%s: clients: %q is not in the RTT matrix", file, c))
		}
		if seen["client-"+c] {
			errs = append(errs, fmt.Errorf("%s: clients: %q is listed twice or clashes with a node name", file, c))
		}
		seen["client-"+c] = true
	}
	return errors.Join(errs...)
}
