//go:build !node

package ctl

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// writeStatus prints the status table; a role Redis holds other than the
// live master gives it (the inventory's, when none is known), and a
// sentinel naming another master than the live one, are marked with "!";
// a node that did not answer, and a sentinel without quorum, get their
// reason on a line below the table.
func writeStatus(w io.Writer, ss []nodeStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tREDIS\tSSH\tLINK\tLAG\tSENTINEL\tVALUE\tCOUNTERD\tREADY")
	live := slices.ContainsFunc(ss, func(s nodeStatus) bool { return s.LiveMaster })
	liveName := ""
	for _, s := range ss {
		if s.LiveMaster {
			liveName = s.Node
		}
	}
	for _, s := range ss {
		ssh := "ok"
		if !s.Reachable {
			ssh = "FAILED"
		}
		redis := dash(s.RedisRole)
		// Against the live master when one is known, else the inventory.
		want := map[string]string{"master": "master", "mirror": "replica", "replica": "replica"}[s.Role]
		if live {
			want = map[bool]string{true: "master", false: "replica"}[s.LiveMaster]
		}
		if s.RedisRole != "" && s.RedisRole != want {
			redis += "!"
		}
		ready := "-"
		if s.Reachable {
			ready = "no"
			if s.Ready {
				ready = "yes"
			}
		}
		sentinel := dash(s.Sentinel)
		if s.Sentinel != "" && live && s.Sentinel != liveName {
			sentinel += "!"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.Node, s.Role, redis, ssh, dash(s.Link), lag(s), sentinel, dash(s.Value), dash(s.Counterd), ready)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range ss {
		switch {
		case s.Error != "":
			fmt.Fprintf(w, "%s: %s\n", s.Node, strings.TrimPrefix(s.Error, s.Node+": "))
		case s.Reachable && !s.Ready:
			fmt.Fprintf(w, "%s: not ready: %s\n", s.Node, dash(s.ReadyText))
		}
		switch {
		case s.SentinelError != "":
			fmt.Fprintf(w, "%s: sentinel: %s\n", s.Node, strings.TrimPrefix(s.SentinelError, "sentinel: "))
		case s.SentinelQuorum != "" && !strings.HasPrefix(s.SentinelQuorum, "OK"):
			fmt.Fprintf(w, "%s: sentinel: %s\n", s.Node, s.SentinelQuorum)
		}
	}
	return nil
}

func lag(s nodeStatus) string {
	if s.LagBytes == nil && s.LagSeconds == nil {
		return "-"
	}
	b, sec := "?", "?"
	if s.LagBytes != nil {
		b = strconv.FormatInt(*s.LagBytes, 10) + " B"
	}
	if s.LagSeconds != nil {
		sec = strconv.FormatInt(*s.LagSeconds, 10) + " s"
	}
	return b + " / " + sec
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
