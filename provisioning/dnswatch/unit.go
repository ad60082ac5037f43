package dnswatch

import (
	_ "embed"
	"fmt"
	"strings"
	"text/template"
	"time"

	"counter/provisioning/anycast"
)

// ServiceUnitName is the watcher's unit, under /etc/systemd/system.
const ServiceUnitName = "counter-dns-watch.service"

// TSIGPath is where provision puts the TSIG secret on a node: root, 0600.
const TSIGPath = "/etc/counter/dns-tsig.key"

//go:embed units/counter-dns-watch.service.tmpl
var unitText string

var unitTmpl = template.Must(template.New("unit").Option("missingkey=error").Parse(unitText))

// UnitParams are what a node's watcher unit says.
type UnitParams struct {
	Config                  string // default ConfigPath
	TSIGFile                string // default TSIGPath
	SentinelPasswordFile    string
	TLSCertFile, TLSKeyFile string
	TLSCAFile               string
	Counts                  anycast.Counts
	Interval                time.Duration
}

// ServiceUnit renders the watcher's unit. Paths land in lines systemd
// splits on spaces and expands % in, so each is checked to hold none.
func ServiceUnit(p UnitParams) ([]byte, error) {
	if p.Config == "" {
		p.Config = ConfigPath
	}
	if p.TSIGFile == "" {
		p.TSIGFile = TSIGPath
	}
	if err := p.Counts.Validate(); err != nil {
		return nil, fmt.Errorf("dns-watch unit: %w", err)
	}
	if p.Interval <= 0 {
		return nil, fmt.Errorf("dns-watch unit: interval %v is not positive", p.Interval)
	}
	for _, f := range []string{p.Config, p.TSIGFile, p.SentinelPasswordFile, p.TLSCertFile, p.TLSKeyFile, p.TLSCAFile} {
		if !strings.HasPrefix(f, "/") || strings.ContainsAny(f, " \t\n\"'\\%$;:") {
			return nil, fmt.Errorf("dns-watch unit: %q is not an absolute path that can stand in a unit", f)
		}
	}
	var b strings.Builder
	err := unitTmpl.Execute(&b, struct {
		UnitParams
		Rise, Fall int
	}{p, p.Counts.Rise, p.Counts.Fall})
	if err != nil {
		return nil, fmt.Errorf("dns-watch unit: %w", err)
	}
	return []byte(b.String()), nil
}
