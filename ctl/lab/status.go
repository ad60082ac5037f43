package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"text/tabwriter"
)

// Row is one member's status.
type Row struct {
	Member Member
	Up     bool
	Note   string
}

// Status checks every member: a container is up when it runs and its sshd
// answers; a client when its namespace exists and its link is not cut.
func (st *State) Status(ctx context.Context) []Row {
	rows := make([]Row, len(st.Plan.Members))
	var wg sync.WaitGroup
	for i, m := range st.Plan.Members {
		wg.Go(func() {
			r := Row{Member: m}
			switch {
			case st.Partitioned[m.Name]:
				r.Note = "partitioned"
			case m.Kind == KindClient:
				if _, err := os.Stat("/run/netns/" + m.Netns()); err != nil {
					r.Note = "no namespace"
				} else {
					r.Up = true
				}
			case !st.Containers[m.Name].Alive():
				r.Note = "stopped"
			case !sshUp(ctx, m): // from its own namespace: a provisioned replica firewalls the host
				r.Note = "running, sshd unreachable"
			default:
				r.Up = true
			}
			rows[i] = r
		})
	}
	wg.Wait()
	return rows
}

// Status prints the status table.
func (l *Lab) Status(ctx context.Context) error {
	st, err := l.load()
	if err != nil {
		return err
	}
	writeStatus(l.Out, st.Status(ctx), st.Router.Alive())
	return nil
}

func writeStatus(w io.Writer, rows []Row, routerUp bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tCONTINENT\tADDRESS\tSTATE\tNOTE")
	for _, r := range rows {
		state := "down"
		if r.Up {
			state = "up"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Member.Name, r.Member.Role, r.Member.Continent, r.Member.Address, state, r.Note)
	}
	tw.Flush()
	if !routerUp {
		fmt.Fprintln(w, "warning: the WAN delay router is not running: lab traffic between members is dropped")
	}
}
