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
	// Sentinel's secrets: the Redis user sentinel, the sentinels' peer
	// user, counterctl's user on the sentinels.
	SentinelPass, SentinelPeerPass, SentinelAdminPass string
	PKIDir                                            string
	Nodes                                             []Member
	// Anycast, when valid, is announced by every node to the lab's BGP
	// router (its link's .1, AS RouterASN), with BFD.
	Anycast netip.Addr
	// DNSSecondary has every node serve the zone as a secondary of DNSServer.
	DNSSecondary bool
}

// Every value is either validated (names, continents, zone) or typed
// (addresses), so none needs YAML quoting.
var inventoryTmpl = template.Must(template.New("inventory").Funcs(template.FuncMap{
	"nodeASN": NodeASN, "routerASN": func() int { return RouterASN },
}).Parse(`# Written by ` + "`counterctl lab up`" + ` for the local lab, in the shape of
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
{{- if .DNSSecondary}}
  # Every node serves the zone too, NOTIFYed by the server: a client's
  # query to the anycast address is answered by the node nearest it.
  secondary: true
{{- end}}
{{- if .Anycast.IsValid}}

# Every node announces it over BGP to the lab's router (ctr-wan), which
# routes each client to the nearest announcing node by the WAN matrix.
anycast:
  address: {{.Anycast}}
{{- end}}

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
  redis_sentinel_password: {file: {{.SentinelPass}}}
  sentinel_peer_password: {file: {{.SentinelPeerPass}}}
  sentinel_counterctl_password: {file: {{.SentinelAdminPass}}}

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
{{- if $.Anycast.IsValid}}
    bgp: {asn: {{nodeASN .}}, peers: [{address: {{.Gateway}}, asn: {{routerASN}}, bfd: true}]}
{{- end}}
{{- end}}
`))

// WriteInventory renders inv.
func WriteInventory(w io.Writer, inv Inventory) error {
	return inventoryTmpl.Execute(w, inv)
}
