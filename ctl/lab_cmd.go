//go:build !node

package ctl

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"counter/ctl/lab"
	"counter/ctl/lab/wan"
)

// labOptions are the flags every lab command shares.
type labOptions struct {
	stateDir string
	cacheDir string
}

func (o *labOptions) lab(cmd *cobra.Command) *lab.Lab {
	return &lab.Lab{
		StateDir: o.stateDir,
		CacheDir: o.cacheDir,
		Out:      cmd.OutOrStdout(),
		Log:      slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
	}
}

// needRoot fails early and clearly for commands that change the host.
func needRoot() error {
	if os.Geteuid() != 0 {
		return lab.ErrNotRoot
	}
	return nil
}

func newLabCmd() *cobra.Command {
	o := &labOptions{}
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run a local multi-node Debian 12 lab with continental WAN latency",
		Long: `The lab boots one systemd-nspawn container per node (Debian 12, systemd, sshd)
in its own network namespace, an authoritative DNS server (Knot) taking
TSIG-signed updates, and one client namespace per continent. Traffic between
continents is delayed by a user-space WAN router to the RTTs of real regions.
Everything it makes on the host is named with the prefix "ctr". Needs root.`,
	}
	cmd.PersistentFlags().StringVar(&o.stateDir, "state-dir", "/var/lib/counter-lab", "lab state: inventory, keys, secrets, overlays")
	cmd.PersistentFlags().StringVar(&o.cacheDir, "cache-dir", "/var/cache/counter-lab", "cached Debian base image and layers")
	cmd.AddCommand(newLabUpCmd(o), newLabDownCmd(o), newLabStatusCmd(o),
		newLabSSHCmd(o), newLabExecCmd(o), newLabKillCmd(o), newLabStartCmd(o),
		newLabPartitionCmd(o), newLabHealCmd(o), newLabImageCmd(o), newLabRouterCmd(), newLabLoadCmd())
	return cmd
}

type labUpOptions struct {
	*labOptions
	nodesFile      string
	subnet         string
	dnsSecondaries bool
}

func newLabUpCmd(lo *labOptions) *cobra.Command {
	o := &labUpOptions{labOptions: lo}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build (or reuse) the image and boot the lab",
		Long: `Builds or reuses a cached Debian 12 image, boots the lab and writes an
inventory (in the shape of inventory.example.yaml), the SSH key, known_hosts
and TSIG key into the state directory. On a running lab it changes nothing.

--nodes FILE takes a topology of this shape (the default is built in):

  zone: lab.counter.test.
  nodes:                  # role: master | mirror | replica | dns
    - {name: master, continent: eu, datacenter: eu, role: master}
    - {name: na, continent: na, role: replica}
    - {name: dns, continent: eu, datacenter: eu, role: dns}
  clients: [eu, na]       # a client namespace client-<continent> each

Exactly one master and one dns node; continents are eu, na, sa, asia,
africa, oceania; datacenter defaults to the continent.

--dns-secondaries writes dns.secondary: true into the inventory, so
provision makes every node an authoritative secondary of dns, which sends
the nodes a NOTIFY on each change; every client's resolv.conf names the
anycast address first (the nearest node answers) and dns after it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd)
		},
	}
	cmd.Flags().StringVar(&o.nodesFile, "nodes", "", "topology file (default: the design's 7 nodes, dns and 6 clients)")
	cmd.Flags().StringVar(&o.subnet, "subnet", "10.213.0.0/16", "IPv4 range for the lab; must not overlap the host's networks")
	cmd.Flags().BoolVar(&o.dnsSecondaries, "dns-secondaries", false,
		"inventory with dns.secondary (every node a Knot secondary); clients ask the anycast address first, then dns")
	return cmd
}

func (o *labUpOptions) run(cmd *cobra.Command) error {
	subnet, err := netip.ParsePrefix(o.subnet)
	if err != nil {
		return fmt.Errorf("--subnet: %w", err)
	}
	topo, err := lab.DefaultTopology()
	if o.nodesFile != "" {
		topo, err = lab.LoadTopology(o.nodesFile)
	}
	if err != nil {
		return err
	}
	l := o.lab(cmd)
	if err := lab.CheckHost(cmd.Context(), l.Log, true); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find counterctl binary for the delay router: %w", err)
	}
	l.Subnet, l.Topology, l.Exe, l.DNSSecondaries = subnet, topo, exe, o.dnsSecondaries
	return l.Up(cmd.Context())
}

func newLabDownCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Remove everything the lab made (containers, namespaces, links, nftables table, processes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Down(cmd.Context())
		},
	}
}

func newLabStatusCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each lab member: role, continent, address, up/down",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Status(cmd.Context())
		},
	}
}

func newLabRouterCmd() *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:    "router",
		Short:  "Run the WAN delay router (started by lab up inside the router namespace)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := wan.LoadConfig(config)
			if err != nil {
				return err
			}
			return wan.Serve(cmd.Context(), cfg, slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "router configuration (JSON) written by lab up")
	cmd.MarkFlagRequired("config")
	return cmd
}

// runAttached runs c on the command's streams and passes its exit code on.
func runAttached(cmd *cobra.Command, c *exec.Cmd) error {
	c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// The command has said what went wrong on stderr already.
		return &ExitError{Code: ee.ExitCode()}
	}
	return err
}
