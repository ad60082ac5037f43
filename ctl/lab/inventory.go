package lab

import (
	"io"
	"net/netip"
	"text/template"
)

// Inventory is what `lab up` tells provisioning about the lab, written in
// the shape of inventory.example.yaml. Paths are relative to the file.
type Inventory struct {
	Cluster      string
	Zone         string
	DNSServer    netip.AddrPort
	TSIG         TSIG
	TSIGFile     string
	KeyFile      string
	KnownHosts   string
	AdminNetwork netip.Prefix
	CounterdPass string
	ReplPass     string
	PKIDir       string
	Nodes        []Member
}

// Every value is either validated (names, continents, zone) or typed
// (addresses), so none needs YAML quoting.
var inventoryTmpl = template.Must(template.New("inventory").Parse(`# Written by ` + "`counterctl lab up`" + ` for the local lab, in the shape of
# inventory.example.yaml. Relative paths are resolved against this file's directory.
cluster: {{.Cluster}}

dns:
  zone: {{.Zone}}
  server: {{.DNSServer}}
  tsig:
    name: {{.TSIG.Name}}
    algorithm: {{.TSIG.Algorithm}}
    secret_file: {{.TSIGFile}}
  service: counter
  ttl: 30s

ssh:
  user: root
  port: 22
  key_file: {{.KeyFile}}
  known_hosts: {{.KnownHosts}}
  connect_timeout: 10s
  command_timeout: 10m

# The host's end of the lab network.
admin_networks:
  - {{.AdminNetwork}}

secrets:
  redis_counterd_password: {file: {{.CounterdPass}}}
  redis_replication_password: {file: {{.ReplPass}}}

pki_dir: {{.PKIDir}}

# Lab nodes are containers: no RAID controller to check.
raid: optional

nodes:
{{- range .Nodes}}
  - name: {{.Name}}
    address: {{.Address}}
    continent: {{.Continent}}
    datacenter: {{.Datacenter}}
    role: {{.Role}}
{{- end}}
`))

// WriteInventory renders inv.
func WriteInventory(w io.Writer, inv Inventory) error {
	return inventoryTmpl.Execute(w, inv)
}
