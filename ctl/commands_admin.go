//go:build !node

package ctl

import "github.com/spf13/cobra"

// adminCommands are what the admin's counterctl adds to the node's: they
// reach nodes over SSH, build the .deb and run the lab, none of which a
// node needs (see TestNodeBuildImports).
func adminCommands() []*cobra.Command {
	return []*cobra.Command{newLabCmd(), newHealthCmd(), newProvisionCmd(), newStatusCmd(), newFailoverCmd(), newDNSCmd(),
		newGeobenchCmd(), newGeobenchClientCmd()}
}

// adminNodeCommands join the node group in the admin's build only.
func adminNodeCommands() []*cobra.Command {
	return []*cobra.Command{newNodeAddCmd(), newNodeRemoveCmd()}
}
