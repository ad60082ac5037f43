package inventory

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Continents are the values `continent:` accepts.
func Continents() []string { return []string{"eu", "na", "sa", "asia", "africa", "oceania"} }

// nodeLines remembers where a node's fields are, for cross-node messages.
type nodeLines struct {
	node, name, address, role, datacenter *yaml.Node
}

func (d *decoder) nodes(n *yaml.Node, defaults SSH) []Node {
	if n.Kind != yaml.SequenceNode {
		d.failf(n, "nodes", "want a list of nodes, got %s", describe(n))
		return nil
	}
	if len(n.Content) == 0 {
		d.failf(n, "nodes", "empty: at least the master is needed")
		return nil
	}
	nodes := make([]Node, 0, len(n.Content))
	lines := make([]nodeLines, 0, len(n.Content))
	for i, c := range n.Content {
		node, nl := d.node(resolve(c), fmt.Sprintf("nodes[%d]", i), defaults)
		nodes = append(nodes, node)
		lines = append(lines, nl)
	}
	d.topology(n, nodes, lines)
	return nodes
}

func (d *decoder) node(n *yaml.Node, path string, defaults SSH) (Node, nodeLines) {
	out := Node{Line: n.Line, SSH: defaults}
	nl := nodeLines{node: n}
	m, ok := d.mapping(n, path, "name", "address", "continent", "datacenter", "role", "promotion_priority", "ssh", "bgp")
	if !ok {
		return out, nl
	}
	if v := d.require(m, "name"); v != nil {
		nl.name = v
		out.Name, _ = d.name(v, join(path, "name"))
	}
	if v := d.require(m, "address"); v != nil {
		nl.address = v
		out.Address, _ = d.host(v, join(path, "address"))
	}
	if v := d.require(m, "continent"); v != nil {
		out.Continent, _ = d.oneOf(v, join(path, "continent"), "continent", Continents()...)
	}
	out.Datacenter = out.Continent
	if v := m.get("datacenter"); v != nil {
		nl.datacenter = v
		out.Datacenter, _ = d.name(v, join(path, "datacenter"))
	}
	if v := d.require(m, "role"); v != nil {
		nl.role = v
		s, _ := d.oneOf(v, join(path, "role"), "role", string(RoleMaster), string(RoleMirror), string(RoleReplica))
		out.Role = Role(s)
	}
	out.PromotionPriority = DefaultPromotionPriority(out.Role)
	if v := m.get("promotion_priority"); v != nil {
		p, _ := d.count(0, MaxPromotionPriority)(v, join(path, "promotion_priority"))
		out.PromotionPriority = int(p)
	}
	if v := m.get("ssh"); v != nil {
		out.SSH = d.ssh(v, join(path, "ssh"), defaults)
	}
	if v := m.get("bgp"); v != nil {
		out.BGP = d.bgp(v, join(path, "bgp"))
	}
	return out, nl
}

// topology checks what no single node can: uniqueness and the master/mirror rules.
func (d *decoder) topology(list *yaml.Node, nodes []Node, lines []nodeLines) {
	names := map[string]int{}
	addrs := map[string]int{}
	master, mirror := -1, -1
	for i, n := range nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		if n.Name != "" {
			if j, dup := names[n.Name]; dup {
				d.failf(lines[i].name, path+".name", "duplicate name %q (also nodes[%d], line %d)", n.Name, j, lines[j].name.Line)
			} else {
				names[n.Name] = i
			}
		}
		if n.Address != "" {
			key := strings.ToLower(strings.TrimSuffix(n.Address, "."))
			if j, dup := addrs[key]; dup {
				d.failf(lines[i].address, path+".address", "duplicate address %q (also nodes[%d] %q, line %d)", n.Address, j, nodes[j].Name, lines[j].address.Line)
			} else {
				addrs[key] = i
			}
		}
		switch n.Role {
		case RoleMaster:
			if master >= 0 {
				d.failf(lines[i].role, path+".role", "second master (nodes[%d] %q is the master); want exactly one", master, nodes[master].Name)
			} else {
				master = i
			}
		case RoleMirror:
			if mirror >= 0 {
				d.failf(lines[i].role, path+".role", "second mirror (nodes[%d] %q is the mirror); want at most one", mirror, nodes[mirror].Name)
			} else {
				mirror = i
			}
		}
	}
	if master < 0 {
		if !d.roleErrors(lines) {
			d.failf(list, "nodes", "no node has role master; want exactly one")
		}
		return
	}
	if mirror >= 0 && nodes[mirror].Datacenter != "" && nodes[master].Datacenter != "" &&
		nodes[mirror].Datacenter != nodes[master].Datacenter {
		at := lines[mirror].datacenter
		if at == nil {
			at = lines[mirror].node
		}
		d.failf(at, fmt.Sprintf("nodes[%d].datacenter", mirror),
			"mirror is in datacenter %q but the master %q is in %q; the mirror must share the master's datacenter",
			nodes[mirror].Datacenter, nodes[master].Name, nodes[master].Datacenter)
	}
	d.sentinelQuorum(list, nodes, master)
}

// roleErrors reports whether some role was already reported bad, so a typo
// like "primary" is not followed by a confusing "no master".
func (d *decoder) roleErrors(lines []nodeLines) bool {
	for _, l := range lines {
		for _, e := range d.errs {
			if l.role != nil && e.Line == l.role.Line && strings.HasSuffix(e.Field, ".role") {
				return true
			}
		}
	}
	return false
}
