package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// State is the lab state file: everything `lab up` made, by name and pid, so
// status, ssh, exec, the chaos commands and `lab down` act on exactly that.
type State struct {
	Plan        *Plan             `json:"plan"`
	Zone        string            `json:"zone"`
	TSIG        TSIG              `json:"tsig"`
	Lowers      map[string]string `json:"lowers"` // member -> nspawn overlay lower dirs ("a:b")
	Router      Proc              `json:"router"`
	Bird        Proc              `json:"bird,omitzero"` // the BGP router in routerNetns
	Containers  map[string]Proc   `json:"containers"`
	Partitioned map[string]bool   `json:"partitioned,omitempty"`
	IPForward   string            `json:"ip_forward_was,omitempty"` // set when up changed it
	Netns       []string          `json:"netns"`
	HostLink    string            `json:"host_link,omitempty"`
	NFTable     bool              `json:"nft_table"`
	Resolv      []ResolvFile      `json:"resolv,omitempty"`      // clients' /etc/netns/NS/resolv.conf
	ResolvBase  string            `json:"resolv_base,omitempty"` // /etc/netns, when up made it
	Created     Created           `json:"created"`               // host-wide things up made, that down removes
	Ready       bool              `json:"ready"`

	// DNSSecondaries: up ran with --dns-secondaries, and the lab it made
	// (NOTIFYs, clients' resolvers) cannot be changed to it later.
	DNSSecondaries bool `json:"dns_secondaries,omitempty"`

	dir string
}

// Names of the lab's host-wide objects.
const (
	routerNetns = Prefix + "-wan"
	hostLink    = Prefix + "0"   // host side of link 0
	routerHost  = Prefix + "h"   // router side of link 0
	tunName     = Prefix + "tun" // the delay router's TUN device
	nftTable    = Prefix + "_lab"
	// partitionTable, in the router namespace, holds `lab partition`'s
	// rules; it goes with the namespace at `lab down`.
	partitionTable = Prefix + "_partition"
	wanTable       = "100" // router routing table that sends lab traffic to the TUN
	// Before the rules that send a member's traffic to the TUN (200).
	directRulePriority = "180"
)

func newState(dir string) *State {
	return &State{dir: dir, Lowers: map[string]string{}, Containers: map[string]Proc{}, Partitioned: map[string]bool{}}
}

func statePath(dir string) string { return filepath.Join(dir, "lab.json") }

// LoadState reads the state file; os.ErrNotExist means no lab is up there.
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(statePath(dir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no lab in %s (run `counterctl lab up` first): %w", dir, os.ErrNotExist)
		}
		return nil, err
	}
	st := newState(dir)
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("parse %s: %w", statePath(dir), err)
	}
	if st.Plan == nil {
		return nil, fmt.Errorf("%s: no address plan", statePath(dir))
	}
	if st.Partitioned == nil {
		st.Partitioned = map[string]bool{}
	}
	if st.Containers == nil {
		st.Containers = map[string]Proc{}
	}
	return st, nil
}

// Save writes the state file atomically.
func (st *State) Save() error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(st.dir) + ".tmp"
	if err := writeFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(st.dir))
}

// Paths inside the state directory.
func (st *State) path(parts ...string) string {
	return filepath.Join(append([]string{st.dir}, parts...)...)
}

func (st *State) upper(name string) string { return st.path("nodes", name, "upper") }

// KeyFile is the lab's SSH private key.
func (st *State) KeyFile() string { return st.path("ssh", "id_ed25519") }

// KnownHosts is the lab's known_hosts file.
func (st *State) KnownHosts() string { return st.path("ssh", "known_hosts") }

// TSIGFile holds the base64 TSIG secret.
func (st *State) TSIGFile() string { return st.path("secrets", "tsig.key") }

// InventoryFile is the inventory `lab up` writes.
func (st *State) InventoryFile() string { return st.path("inventory.yaml") }
