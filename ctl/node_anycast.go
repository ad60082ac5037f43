package ctl

import (
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"counter/provisioning/anycast"
)

type anycastOptions struct {
	readyz        string
	peers         []string
	socket        string
	protocol      string
	rise, fall    int
	minPeersReady int
	interval      time.Duration
	timeout       time.Duration
}

// newNodeAnycastCmd runs the announcer (counter-anycast.service).
func newNodeAnycastCmd() *cobra.Command {
	opts := anycastOptions{
		readyz:        "http://127.0.0.1/readyz",
		socket:        anycast.DefaultBirdSocket,
		protocol:      anycast.DefaultProtocol,
		rise:          3,
		fall:          3,
		minPeersReady: 1,
		interval:      time.Second,
		// counterd's /readyz PINGs Redis with a 1 s timeout of its own.
		timeout: 1500 * time.Millisecond,
	}
	cmd := &cobra.Command{
		Use:   "anycast",
		Short: "Announce the anycast address over BGP (through BIRD) while counterd is ready",
		Long: `Checks counterd's /readyz every --interval (it fails when the local Redis does
not answer or the value is older than counterd's --max-staleness) and enables
BIRD's static protocol holding the anycast /32 after --rise successes in a
row, disables it after --fall failures in a row.

The guard: a node whose counterd still answers (503) keeps announcing while
fewer than --min-peers-ready of the --peer nodes answer /readyz 200: its
failure is then shared by the cluster (a failover, every replica stale), and
withdrawing every node at once would leave clients nothing. A node whose
counterd does not answer at all is withdrawn regardless.

Runs until stopped; stopping it leaves the announcement as it is (a stopped
BIRD withdraws by itself, and a restarted one starts withdrawn).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := anycast.New(anycast.Config{
				ReadyzURL:     opts.readyz,
				PeerURLs:      opts.peers,
				Counts:        anycast.Counts{Rise: opts.rise, Fall: opts.fall},
				MinPeersReady: opts.minPeersReady,
				Interval:      opts.interval,
				Timeout:       opts.timeout,
				Router:        anycast.BirdRouter{Bird: anycast.Bird{Socket: opts.socket}, Protocol: opts.protocol},
				Logger:        slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
			})
			if err != nil {
				return err
			}
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.readyz, "readyz", opts.readyz, "the local counterd's /readyz `URL`")
	f.StringArrayVar(&opts.peers, "peer", nil, "another serving node's /readyz `URL`, for the guard (repeat)")
	f.StringVar(&opts.socket, "bird-socket", opts.socket, "BIRD's control `socket`")
	f.StringVar(&opts.protocol, "protocol", opts.protocol, "the BIRD static protocol holding the /32")
	f.IntVar(&opts.rise, "rise", opts.rise, "successful checks in a row before announcing")
	f.IntVar(&opts.fall, "fall", opts.fall, "failed checks in a row before withdrawing")
	f.IntVar(&opts.minPeersReady, "min-peers-ready", opts.minPeersReady, "ready peers needed before an answering but unready node withdraws (0: no guard)")
	f.DurationVar(&opts.interval, "interval", opts.interval, "time between checks")
	f.DurationVar(&opts.timeout, "timeout", opts.timeout, "timeout of one /readyz check")
	return cmd
}
