package dnsupdate

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Zone is what the server holds: its SOA and every record, as read by AXFR.
type Zone struct {
	Name string
	SOA  string // the SOA record in presentation form, for the prerequisite
	// Serial is the SOA serial, shown in plans.
	Serial  uint32
	Records []RR // without the SOA
}

// Change is the update of one name and type: remove the server's set (or,
// for the ownership TXT, only counterctl's record), then add the new one.
type Change struct {
	Name, Type string
	Del, Add   []RR
	// DelSet removes the whole name+type set; false removes exactly Del.
	DelSet bool
}

// Plan is the difference between a Zone and a Desired.
type Plan struct {
	Zone    string
	Serial  uint32
	Changes []Change // sorted by name, then type
	// Foreign lists desired names that hold records counterctl does not own: left alone.
	Foreign []string
	Notes   []string
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }

type key struct{ name, typ string }

// Diff compares the zone with the desired records, per name and type.
func Diff(z Zone, d Desired) Plan {
	p := Plan{Zone: z.Name, Serial: z.Serial, Notes: slices.Clone(d.Notes)}
	have := map[key][]RR{}
	present := map[string]bool{} // names that hold any record
	for _, r := range z.Records {
		have[key{r.Name, r.Type}] = append(have[key{r.Name, r.Type}], r)
		present[r.Name] = true
	}
	own := OwnerText(d.Cluster)
	owned := func(name string) bool {
		return slices.ContainsFunc(have[key{OwnerName(name), "TXT"}], func(r RR) bool { return r.Data == own })
	}

	// Desired names: claim the free ones, update the owned ones, skip the
	// rest: a name with anyone's records, or with anyone else's record at
	// its companion (another cluster's ownership, while it holds nothing).
	for _, name := range slices.Sorted(maps.Keys(d.Sets)) {
		mine := owned(name)
		if !mine && (present[name] || present[OwnerName(name)]) {
			p.Foreign = append(p.Foreign, name)
			continue
		}
		want := map[string][]RR{}
		for _, r := range d.Sets[name] {
			want[r.Type] = append(want[r.Type], r)
		}
		for _, t := range Managed {
			if c, ok := changeSet(name, t, have[key{name, t}], want[t]); ok {
				p.Changes = append(p.Changes, c)
			}
		}
		if !mine {
			on := OwnerName(name)
			p.Changes = append(p.Changes, Change{Name: on, Type: "TXT", Add: []RR{{Name: on, TTL: d.Sets[name][0].TTL, Type: "TXT", Data: own}}})
		}
	}

	// Owned names no longer desired (a node removed from the inventory) are
	// emptied of what counterctl wrote, and disowned.
	for _, r := range z.Records {
		if r.Type != "TXT" || r.Data != own || !strings.HasPrefix(r.Name, OwnerPrefix+".") {
			continue
		}
		name := strings.TrimPrefix(r.Name, OwnerPrefix+".")
		if _, ok := d.Sets[name]; ok || d.Keep[name] {
			continue
		}
		for _, t := range Managed {
			if c, ok := changeSet(name, t, have[key{name, t}], nil); ok {
				p.Changes = append(p.Changes, c)
			}
		}
		p.Changes = append(p.Changes, Change{Name: r.Name, Type: "TXT", Del: []RR{r}})
	}
	// A name's changes read together: its records, then its ownership TXT.
	slices.SortStableFunc(p.Changes, func(a, b Change) int {
		if c := strings.Compare(subject(a), subject(b)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return -c // "_counterctl.x" sorts before "x" in ASCII: the name first, then its companion
		}
		return strings.Compare(a.Type, b.Type)
	})
	return p
}

// subject is the name a change is about: its own, or the one its ownership TXT marks.
func subject(c Change) string { return strings.TrimPrefix(c.Name, OwnerPrefix+".") }

// changeSet replaces have by want when they differ in data or TTL.
func changeSet(name, typ string, have, want []RR) (Change, bool) {
	norm := func(rs []RR) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.String())
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	if slices.Equal(norm(have), norm(want)) {
		return Change{}, false
	}
	return Change{Name: name, Type: typ, Del: have, Add: want, DelSet: len(have) > 0}, true
}

// Write prints the plan the way `counterctl dns plan` shows it: per name and
// type, each record removed (-), added (+) or kept in a replaced set ( ).
func (p Plan) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "zone %s (serial %d)\n", p.Zone, p.Serial)
	for _, c := range p.Changes {
		kept := map[RR]bool{}
		for _, r := range c.Add {
			kept[r] = slices.Contains(c.Del, r)
		}
		for _, r := range c.Del {
			if !kept[r] {
				fmt.Fprintf(&b, "- %s\n", r)
			}
		}
		for _, r := range c.Add {
			mark := "+"
			if kept[r] {
				mark = " "
			}
			fmt.Fprintf(&b, "%s %s\n", mark, r)
		}
	}
	for _, n := range p.Foreign {
		fmt.Fprintf(&b, "! %s: holds records counterctl does not own; left alone\n", n)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "# %s\n", n)
	}
	if p.Empty() {
		b.WriteString("no change\n")
	} else {
		fmt.Fprintf(&b, "%d record set(s) to change\n", len(p.Changes))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
