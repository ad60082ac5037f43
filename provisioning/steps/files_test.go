package steps

import "testing"

func TestSameDirMode(t *testing.T) {
	tests := []struct {
		name, have, want string
		same             bool
	}{
		{"equal", "750:root:redis", "750:root:redis", true},
		{"inherited setgid", "2750:root:redis", "750:root:redis", true},
		{"other mode", "755:root:redis", "750:root:redis", false},
		{"other group", "750:root:root", "750:root:redis", false},
		{"setuid is not ignored", "4750:root:redis", "750:root:redis", false},
		{"missing", "", "750:root:redis", false},
	}
	for _, tt := range tests {
		if got := sameDirMode(tt.have, tt.want); got != tt.same {
			t.Errorf("%s: sameDirMode(%q, %q) = %v, want %v", tt.name, tt.have, tt.want, got, tt.same)
		}
	}
}
