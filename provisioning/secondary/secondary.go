// Package secondary renders the Knot configuration that makes a counter
// node an authoritative secondary of the cluster's zone: the zone is
// transferred from dns.server with the inventory's TSIG key, refreshed at
// once on a NOTIFY signed with it, and served on every address of the
// node, the anycast address among them. A resolver anywhere then asks a
// node near it (the nearest, with anycast) instead of the one primary.
package secondary

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"text/template"
)

// Debian's paths and package.
const (
	Package  = "knot"
	Unit     = "knot.service"
	ConfPath = "/etc/knot/knot.conf"
	// KeyPath holds the TSIG key, included by ConfPath, so the main file
	// carries no secret and its changes can be shown as diffs.
	KeyPath = "/etc/knot/counter-tsig.conf"
)

// Refresh bounds: a NOTIFY lost on the way (a node that was down while the
// zone changed) is made up for within RefreshMax, a failed transfer is
// retried within RetryMax, whatever the zone's SOA asks. Expire stays the
// SOA's: a node keeps answering for that long while the primary is away.
const (
	RefreshMax = 60
	RetryMax   = 10
)

// Config is one node's secondary.
type Config struct {
	Zone      string         // fully qualified
	Primary   netip.AddrPort // dns.server
	KeyName   string         // fully qualified
	Algorithm string         // hmac-sha256 | hmac-sha512
	KeyFile   string         // the file Key renders to; KeyPath on a node
	// Listen are the addresses and ports Knot answers on: the node's own
	// and the anycast address, each named. Knot bound to 0.0.0.0 answers
	// UDP from the node's own address whatever the query was sent to, and
	// a resolver drops such an answer: on the lab every UDP query to the
	// anycast address timed out, while TCP worked. Knot binds an address
	// the node does not have yet (IP_FREEBIND), which the anycast /32 is
	// until the announcer puts it on lo.
	Listen []netip.AddrPort
	// Storage and RunDir override Debian's /var/lib/knot and /run/knot
	// (tests run knotd unprivileged in a temporary directory).
	Storage, RunDir string
	// Syslog logs to syslog (the journal) as Debian's does; false logs to
	// stderr, for a test's knotd.
	Syslog bool
}

var conf = template.Must(template.New("knot.conf").Parse(`# Written by counterctl provision: this node serves zone {{.Zone}} as a secondary.
# Every change here is made by the next provision; edit the inventory instead.
server:
{{- if .RunDir}}
    rundir: "{{.RunDir}}"
{{- else}}
    rundir: "/run/knot"
    user: knot:knot
{{- end}}
    listen: [ {{.Listen}} ]
    # No CHAOS-class answers naming the software or the host.
    identity: ""
    version: ""

log:
  - target: {{if .Syslog}}syslog{{else}}stderr{{end}}
    any: info

database:
    storage: "{{.Storage}}"

include: "{{.KeyFile}}"

remote:
  - id: primary
    address: {{.Primary}}
    key: {{.KeyName}}

acl:
  # A NOTIFY only makes the node ask the primary for the zone, which the
  # key signs too; it is accepted from any address holding the key, so a
  # primary behind NAT still reaches the node.
  - id: notify-signed
    key: {{.KeyName}}
    action: notify

template:
  - id: default
    storage: "{{.Storage}}"
    # The zone lives in the journal, not in a zone file: what the primary
    # sent is all the node serves, also after a restart.
    zonefile-sync: -1
    zonefile-load: none
    journal-content: all

zone:
  - domain: {{.Zone}}
    master: primary
    acl: notify-signed
    refresh-max-interval: {{.RefreshMax}}
    retry-max-interval: {{.RetryMax}}
`))

var key = template.Must(template.New("key").Parse(`# Written by counterctl provision: dns.tsig, to transfer the zone and check NOTIFY.
key:
  - id: {{.KeyName}}
    algorithm: {{.Algorithm}}
    secret: {{.Secret}}
`))

// Render is Knot's configuration for c; it names the key file, never the secret.
func Render(c Config) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	var listen []string
	for _, a := range c.Listen {
		listen = append(listen, fmt.Sprintf("%s@%d", a.Addr(), a.Port()))
	}
	storage := c.Storage
	if storage == "" {
		storage = "/var/lib/knot"
	}
	var b bytes.Buffer
	err := conf.Execute(&b, map[string]any{
		"Zone": c.Zone, "RunDir": c.RunDir, "Listen": strings.Join(listen, ", "),
		"Syslog": c.Syslog, "Storage": storage, "KeyFile": c.KeyFile,
		"Primary": fmt.Sprintf("%s@%d", c.Primary.Addr(), c.Primary.Port()),
		"KeyName": c.KeyName, "RefreshMax": RefreshMax, "RetryMax": RetryMax,
	})
	return b.Bytes(), err
}

// Key is the key file Render's configuration includes: it holds the secret.
func Key(c Config, secret string) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if b, err := base64.StdEncoding.DecodeString(secret); err != nil || len(b) == 0 {
		return nil, errors.New("secondary: the TSIG secret is empty or not base64")
	}
	var b bytes.Buffer
	err := key.Execute(&b, map[string]string{"KeyName": c.KeyName, "Algorithm": c.Algorithm, "Secret": secret})
	return b.Bytes(), err
}

// check refuses what would make a broken or ambiguous knot.conf: every
// value lands in YAML unquoted.
func (c Config) check() error {
	switch {
	case !strings.HasSuffix(c.Zone, ".") || !plain(c.Zone):
		return fmt.Errorf("secondary: zone %q is not a fully qualified name", c.Zone)
	case !strings.HasSuffix(c.KeyName, ".") || !plain(c.KeyName):
		return fmt.Errorf("secondary: key name %q is not a fully qualified name", c.KeyName)
	case c.Algorithm != "hmac-sha256" && c.Algorithm != "hmac-sha512":
		return fmt.Errorf("secondary: TSIG algorithm %q (want hmac-sha256 or hmac-sha512)", c.Algorithm)
	case !c.Primary.IsValid():
		return errors.New("secondary: no primary address")
	case c.KeyFile == "" || !plain(c.KeyFile):
		return fmt.Errorf("secondary: key file %q", c.KeyFile)
	case len(c.Listen) == 0:
		return errors.New("secondary: no address to answer on")
	}
	for _, a := range c.Listen {
		if !a.IsValid() || a.Addr().IsUnspecified() {
			return fmt.Errorf("secondary: listen %s: name the address (a wildcard answers UDP from the wrong one)", a)
		}
	}
	return nil
}

// plain: letters, digits and the few marks names and paths here use.
func plain(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_/", r)) {
			return false
		}
	}
	return s != ""
}
