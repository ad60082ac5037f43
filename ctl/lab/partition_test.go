package lab

import (
	"net/netip"
	"strings"
	"testing"
)

func TestPartitionRules(t *testing.T) {
	host := netip.MustParseAddr("10.213.0.2")
	clear := "table ip ctr_partition\ndelete table ip ctr_partition\n"
	if got := partitionRules(host, nil); got != clear {
		t.Errorf("partitionRules(no member) = %q, want only the table's removal %q", got, clear)
	}
	na := Member{Name: "na", Address: netip.MustParseAddr("10.213.3.2")}
	got := partitionRules(host, []Member{na})
	for _, want := range []string{clear,
		"type filter hook forward priority filter; policy accept;",
		`ip saddr 10.213.3.2 ip daddr != 10.213.0.2 drop comment "na"`,
		`ip daddr 10.213.3.2 ip saddr != 10.213.0.2 drop comment "na"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("partitionRules(na) lacks %q:\n%s", want, got)
		}
	}
}
