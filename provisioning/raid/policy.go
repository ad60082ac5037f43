package raid

import "fmt"

// Policy says how much RAID a node must have.
type Policy string

// Policies, from strict to off.
const (
	// PolicyRequired makes a node without any RAID CRITICAL.
	PolicyRequired Policy = "required"
	// PolicyOptional reports "no RAID found" as OK (lab nodes, this build host).
	PolicyOptional Policy = "optional"
	// PolicyNone skips the check.
	PolicyNone Policy = "none"
)

// ParsePolicy accepts required, optional or none.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case PolicyRequired, PolicyOptional, PolicyNone:
		return p, nil
	}
	return "", fmt.Errorf("raid policy %q: want required, optional or none", s)
}

// String returns the policy name.
func (p Policy) String() string { return string(p) }

// Set parses s into p, so a *Policy can serve as a command-line flag value.
func (p *Policy) Set(s string) error {
	v, err := ParsePolicy(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Type names the flag value type in help output.
func (p *Policy) Type() string { return "required|optional|none" }
