package anycast

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"text/template"
)

//go:embed bird.conf.tmpl
var birdConfText string

var birdConfTmpl = template.Must(template.New("bird.conf").Parse(birdConfText))

// BirdConfPath is where Debian's bird2 reads its configuration.
const BirdConfPath = "/etc/bird/bird.conf"

// Peer is one BGP neighbour of a node: a router directly connected to it.
type Peer struct {
	Address netip.Addr
	ASN     uint32
	BFD     bool // the router runs BFD: fail over in ~300 ms, not the hold time
}

// BirdParams are what a node's bird.conf says.
type BirdParams struct {
	RouterID netip.Addr // the node's own IPv4 address
	ASN      uint32     // the node's AS
	Address  netip.Addr // the anycast address, announced as a /32
	Protocol string     // the static protocol the announcer toggles; default DefaultProtocol
	Peers    []Peer
}

// BFD says whether any peer runs BFD, so the config needs protocol bfd.
func (p BirdParams) BFD() bool {
	for _, peer := range p.Peers {
		if peer.BFD {
			return true
		}
	}
	return false
}

// RenderBirdConf renders bird.conf for one node.
func RenderBirdConf(p BirdParams) ([]byte, error) {
	if p.Protocol == "" {
		p.Protocol = DefaultProtocol
	}
	var errs []error
	if !p.RouterID.Is4() {
		errs = append(errs, fmt.Errorf("router id %v is not IPv4", p.RouterID))
	}
	if !p.Address.Is4() {
		errs = append(errs, fmt.Errorf("anycast address %v is not IPv4", p.Address))
	}
	if p.ASN == 0 {
		errs = append(errs, errors.New("no local AS number"))
	}
	if !validName(p.Protocol) {
		errs = append(errs, fmt.Errorf("protocol name %q: want letters, digits and _", p.Protocol))
	}
	if len(p.Peers) == 0 {
		errs = append(errs, errors.New("no BGP peers"))
	}
	for i, peer := range p.Peers {
		if !peer.Address.Is4() || peer.ASN == 0 {
			errs = append(errs, fmt.Errorf("peer %d: address %v and AS %d: want IPv4 and a non-zero AS", i, peer.Address, peer.ASN))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bird.conf: %w", err)
	}
	var b strings.Builder
	if err := birdConfTmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("bird.conf: %w", err)
	}
	return []byte(b.String() + "\n"), nil
}
