package anycast

import (
	_ "embed"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"text/template"
	"time"
)

// ServiceUnitName is the announcer's unit, under /etc/systemd/system.
const ServiceUnitName = "counter-anycast.service"

//go:embed units/counter-anycast.service.tmpl
var unitText string

var unitTmpl = template.Must(template.New("unit").Parse(unitText))

// UnitParams are what a node's announcer unit says.
type UnitParams struct {
	Address  netip.Addr // the anycast address, put on lo
	Readyz   string     // the local counterd's /readyz
	Peers    []string   // the other announcing nodes' /readyz, for the guard
	Socket   string     // default DefaultBirdSocket
	Protocol string     // default DefaultProtocol
	Counts   Counts
	Interval time.Duration
}

// ServiceUnit renders the announcer's systemd unit. Every value lands in
// an ExecStart line systemd splits on spaces, so each is checked to hold
// none (URLs parse and carry no spaces, quotes, backslashes or %).
func ServiceUnit(p UnitParams) ([]byte, error) {
	if p.Socket == "" {
		p.Socket = DefaultBirdSocket
	}
	if p.Protocol == "" {
		p.Protocol = DefaultProtocol
	}
	if !p.Address.Is4() {
		return nil, fmt.Errorf("announcer unit: anycast address %v is not IPv4", p.Address)
	}
	if err := p.Counts.Validate(); err != nil {
		return nil, fmt.Errorf("announcer unit: %w", err)
	}
	if p.Interval <= 0 {
		return nil, fmt.Errorf("announcer unit: interval %v is not positive", p.Interval)
	}
	if !validName(p.Protocol) {
		return nil, fmt.Errorf("announcer unit: protocol name %q: want letters, digits and _", p.Protocol)
	}
	for _, u := range append([]string{p.Readyz, p.Socket}, p.Peers...) {
		if u == "" || strings.ContainsAny(u, " \t\n\"'\\%$;") {
			return nil, fmt.Errorf("announcer unit: %q cannot stand in an ExecStart line", u)
		}
	}
	for _, u := range append([]string{p.Readyz}, p.Peers...) {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("announcer unit: %q is not an http(s) URL", u)
		}
	}
	var b strings.Builder
	err := unitTmpl.Execute(&b, struct {
		UnitParams
		Rise, Fall int
	}{p, p.Counts.Rise, p.Counts.Fall})
	if err != nil {
		return nil, fmt.Errorf("announcer unit: %w", err)
	}
	return []byte(b.String()), nil
}
