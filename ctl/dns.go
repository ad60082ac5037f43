//go:build !node

package ctl

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"counter/ctl/lab"
	"counter/provisioning/dnsupdate"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/probe"
)

// observeFunc reports which nodes serve and who is master; tests feed it.
type observeFunc func(ctx context.Context, inv *inventory.Inventory) (dnsupdate.Observation, error)

type dnsOptions struct {
	inventory string
	timeout   time.Duration
	observe   observeFunc
}

func newDNSCmd() *cobra.Command {
	return newDNSCmdWith(func(ctx context.Context, inv *inventory.Inventory) (dnsupdate.Observation, error) {
		return probeObservation(ctx, inv, os.Getenv)
	})
}

// newDNSCmdWith builds `counterctl dns` with the given source of health.
func newDNSCmdWith(observe observeFunc) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Show or publish the cluster's names in its DNS zone (RFC 2136, TSIG)",
		Long: `Publishes under dns.zone, with dns.ttl:
  <service>              the anycast address, or every healthy node without one
  <continent>.<service>  that continent's healthy nodes, else the nearest
                         healthy node by round-trip time
  <node>.nodes           each node, for admins
  master.<service>       the live master
and beside each a TXT record at _counterctl.<name> saying which cluster owns
it: names held by anyone else are left alone. Healthy means counterd's
/readyz answers 200; the live master is the one status names.`,
	}
	cmd.AddCommand(newDNSPlanCmd(observe), newDNSPublishCmd(observe))
	return cmd
}

func (o *dnsOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.inventory, "inventory", "i", "", "inventory `file`")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "give up after this `duration` (probing the nodes, then the DNS server)")
	_ = cmd.MarkFlagRequired("inventory")
}

func newDNSPlanCmd(observe observeFunc) *cobra.Command {
	o := &dnsOptions{observe: observe}
	cmd := &cobra.Command{
		Use:   "plan -i FILE",
		Short: "Show what publish would change in the zone; changes nothing",
		Long: `Reads the zone from dns.server (TSIG-signed AXFR) and prints, per name and
type, each record publish would remove (-), add (+) or keep in a set it
replaces ( ); "!" marks a name someone else holds, "#" a note.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			srv, d, err := o.prepare(ctx)
			if err != nil {
				return err
			}
			z, err := srv.Read(ctx, d.Zone)
			if err != nil {
				return err
			}
			return dnsupdate.Diff(z, d).Write(cmd.OutOrStdout())
		},
	}
	o.flags(cmd)
	return cmd
}

func newDNSPublishCmd(observe observeFunc) *cobra.Command {
	o := &dnsOptions{observe: observe}
	cmd := &cobra.Command{
		Use:   "publish -i FILE",
		Short: "Bring the zone to the cluster's names with one TSIG-signed update",
		Long: `Reads the zone (TSIG-signed AXFR), and sends one RFC 2136 update that
deletes before it inserts, with the zone's SOA as prerequisite: if someone
changed the zone in between, it reads again and retries (4 attempts at
most). Prints what it changed, as plan does, or "no change". Refuses to
leave the service name without an address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			srv, d, err := o.prepare(ctx)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			p, err := dnsupdate.Publish(ctx, srv, d, log)
			if err != nil {
				return err
			}
			return p.Write(cmd.OutOrStdout())
		},
	}
	o.flags(cmd)
	return cmd
}

// prepare loads the inventory, observes the cluster and works out the records.
func (o *dnsOptions) prepare(ctx context.Context) (*dnsupdate.Server, dnsupdate.Desired, error) {
	inv, err := inventory.Load(o.inventory)
	if err != nil {
		return nil, dnsupdate.Desired{}, err
	}
	secret, err := inv.TSIGSecret()
	if err != nil {
		return nil, dnsupdate.Desired{}, err
	}
	rtt, err := lab.DefaultRTT()
	if err != nil {
		return nil, dnsupdate.Desired{}, err
	}
	obs, err := o.observe(ctx, inv)
	if err != nil {
		return nil, dnsupdate.Desired{}, fmt.Errorf("observe the cluster: %w", err)
	}
	d, err := dnsupdate.Want(inv, obs, rtt)
	if err != nil {
		return nil, dnsupdate.Desired{}, err
	}
	srv := &dnsupdate.Server{Addr: inv.DNS.Server, Timeout: 10 * time.Second, Key: dnsupdate.Key{
		Name: inv.DNS.TSIG.Name, Algorithm: inv.DNS.TSIG.Algorithm, Secret: string(secret)}}
	return srv, d, nil
}

// probeObservation asks every node what status asks (over SSH, replicas
// through the master): ready is /readyz 200, the master is livemaster's.
func probeObservation(ctx context.Context, inv *inventory.Inventory, getenv func(string) string) (dnsupdate.Observation, error) {
	conn := host.NewConnector(inv, host.ConnectOptions{AgentSocket: getenv("SSH_AUTH_SOCK")})
	defer conn.Close()
	pr := probe.New(conn, probe.Defaults(), time.Now)
	nodes := inv.Ordered()
	ss := make([]nodeStatus, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { ss[i] = fromFacts(pr.Probe(ctx, n)) })
	}
	wg.Wait()
	obs := dnsupdate.Observation{Healthy: map[string]bool{}}
	for _, s := range ss {
		obs.Healthy[s.Node] = s.Ready
	}
	if d, err := decideFromStatus(ctx, inv, ss); err == nil {
		obs.Master = d.Master.Name
	}
	return obs, nil
}
