//go:build !node

package ctl

import (
	"github.com/spf13/cobra"
)

func newLabSSHCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "ssh NODE [-- CMD [ARG...]]",
		Short: "SSH to a lab node as root (lab key, host key verified)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			c, err := o.lab(cmd).SSHCommand(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			return runAttached(cmd, c)
		},
	}
}

func newLabExecCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "exec CLIENT -- CMD [ARG...]",
		Short: "Run a command in a client's network namespace (e.g. ping, curl)",
		Long: `Runs CMD inside the network namespace of CLIENT (client-eu ... client-oceania),
to measure the cluster from that continent; any lab member's name works too.
Put -- before the command so its flags are not read as counterctl's.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			c, err := o.lab(cmd).ExecCommand(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			return runAttached(cmd, c)
		},
	}
}

func newLabKillCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "kill NODE...",
		Short: "Cut nodes' power (SIGKILL each PID 1: several nodes die at the same instant)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Kill(cmd.Context(), args...)
		},
	}
}

func newLabStartCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "start NODE...",
		Short: "Boot killed nodes again on their existing overlays, all at once",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Start(cmd.Context(), args...)
		},
	}
}

func newLabPartitionCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "partition NODE...",
		Short: "Cut nodes off from the lab (nodes, clients, dns); they keep running and the host still reaches them",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Partition(cmd.Context(), args...)
		},
	}
}

func newLabHealCmd(o *labOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "heal [NODE...]",
		Short: "End the partition of the nodes named (of every node without NODE)",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needRoot(); err != nil {
				return err
			}
			return o.lab(cmd).Heal(cmd.Context(), args...)
		},
	}
}
