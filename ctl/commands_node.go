//go:build node

package ctl

import "github.com/spf13/cobra"

// adminCommands: the node's build (-tags node) has none.
func adminCommands() []*cobra.Command { return nil }

// adminNodeCommands: node add reaches other nodes over SSH; not on a node.
func adminNodeCommands() []*cobra.Command { return nil }
