package inventory

import "slices"

// Without is the inventory with the named node left out, as it will read
// once the admin deletes that node: node remove renders the other nodes'
// firewall from it.
func (inv *Inventory) Without(name string) *Inventory {
	cp := *inv
	cp.Nodes = slices.DeleteFunc(slices.Clone(inv.Nodes), func(n Node) bool { return n.Name == name })
	return &cp
}
