package ctl

import (
	"github.com/spf13/cobra"

	"counter/provisioning/nagios"
	"counter/provisioning/raid"
)

// newNodeCmd groups the checks that run on a node itself (from systemd
// timers) and, in the admin's build, adding and removing nodes.
func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Checks that run on a cluster node (installed by provision); node add and remove (admin build)",
	}
	cmd.AddCommand(newNodeRaidCheckCmd(), newNodeAnycastCmd(), newNodeDNSWatchCmd())
	cmd.AddCommand(adminNodeCommands()...)
	return cmd
}

type raidCheckOptions struct {
	raid.Options
}

func newNodeRaidCheckCmd() *cobra.Command {
	opts := raidCheckOptions{Options: raid.Options{
		Policy:      raid.PolicyOptional,
		TextfileDir: raid.DefaultTextfileDir,
		StatePath:   raid.DefaultStatePath,
	}}
	cmd := &cobra.Command{
		Use:   "raid-check",
		Short: "Check software and hardware RAID and BBU state; write Prometheus textfile metrics and a state file",
		Long: `Reads /proc/mdstat and mdadm, and storcli, ssacli or MegaCli where installed.
Exit codes as monitoring plugins expect: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
When the metrics or state file could not be written, the check is UNKNOWN
(CRITICAL if the RAID itself is), as nothing will show its result.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := raid.Run(cmd.Context(), opts.Options, cmd.OutOrStdout())
			state := r.Severity
			if err != nil {
				// Monitoring plugins exit 0-3 only: unwritten files make the
				// result UNKNOWN to whoever reads them, not a fifth state.
				state = state.Worse(nagios.Unknown)
			}
			if code := state.ExitCode(); code != 0 {
				return &ExitError{Code: code, Err: err}
			}
			return nil
		},
	}
	cmd.Flags().Var(&opts.Policy, "policy", "what a node without RAID is: required (CRITICAL), optional (OK) or none (not checked)")
	cmd.Flags().StringVar(&opts.TextfileDir, "textfile-dir", opts.TextfileDir, "node_exporter textfile collector `directory`")
	cmd.Flags().StringVar(&opts.StatePath, "state", opts.StatePath, "JSON state `file` that counterctl health reads")
	cmd.Flags().StringVar(&opts.Mdstat, "mdstat", raid.MdstatPath, "the kernel's md array list `file` (another path is for tests)")
	return cmd
}
