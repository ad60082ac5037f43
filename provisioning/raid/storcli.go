package raid

import (
	"encoding/json"
	"fmt"
	"strings"

	"counter/provisioning/nagios"
)

// storcliOutput is the part of `storcli /call show all J` that Check reads.
type storcliOutput struct {
	Controllers []struct {
		CommandStatus struct {
			Controller  json.RawMessage `json:"Controller"`
			Status      string          `json:"Status"`
			Description string          `json:"Description"`
		} `json:"Command Status"`
		ResponseData *struct {
			ProductName string `json:"Product Name"`
			Basics      struct {
				Model string `json:"Model"`
			} `json:"Basics"`
			Status struct {
				ControllerStatus string `json:"Controller Status"`
			} `json:"Status"`
			VDList []struct {
				DGVD  string `json:"DG/VD"`
				Type  string `json:"TYPE"`
				State string `json:"State"`
				Cache string `json:"Cache"`
				Name  string `json:"Name"`
			} `json:"VD LIST"`
			PDList []struct {
				EIDSlt string          `json:"EID:Slt"`
				State  string          `json:"State"`
				DG     json.RawMessage `json:"DG"`
			} `json:"PD LIST"`
			BBUInfo []storcliBackup `json:"BBU_Info"`
			CVInfo  []storcliBackup `json:"Cachevault_Info"`
		} `json:"Response Data"`
	} `json:"Controllers"`
}

type storcliBackup struct {
	Model string `json:"Model"`
	State string `json:"State"`
}

// storcli abbreviations, from the legend storcli prints under its tables.
var (
	storcliVDStatus = map[string]Status{
		"Optl": StatusOptimal,
		"Dgrd": StatusDegraded, // Degraded
		"Pdgd": StatusDegraded, // Partially Degraded
		"OfLn": StatusFailed,   // OffLine
		"Rec":  StatusRebuilding,
	}
	storcliPDGood = map[string]bool{"Onln": true, "UGood": true, "GHS": true, "DHS": true, "JBOD": true,
		"UGUnsp": true, "UGShld": true, "HSPShld": true, "Sntze": true}
	storcliPDCopying = map[string]bool{"Rbld": true, "Cpybck": true, "CBShld": true}
	storcliPDFailed  = map[string]bool{"Offln": true, "UBad": true, "UBUnsp": true, "Failed": true, "Msng": true}
)

// parseStorcli reads `storcli /call show all J`.
func parseStorcli(data []byte) ([]Controller, []Array, error) {
	var out storcliOutput
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, nil, fmt.Errorf("%w: storcli: not the expected JSON: %w", ErrUnparsable, err)
	}
	if len(out.Controllers) == 0 {
		return nil, nil, fmt.Errorf("%w: storcli: no \"Controllers\" in output", ErrUnparsable)
	}
	var ctrls []Controller
	var arrays []Array
	for i, c := range out.Controllers {
		id := "c" + strings.Trim(string(c.CommandStatus.Controller), `"`)
		if c.CommandStatus.Status != "Success" {
			// storcli answers a machine without controllers with a failure.
			if strings.Contains(c.CommandStatus.Description, "No Controller found") {
				continue
			}
			if c.CommandStatus.Status == "" {
				return nil, nil, fmt.Errorf("%w: storcli: controller entry %d has no \"Command Status\"", ErrUnparsable, i)
			}
			ctrls = append(ctrls, Controller{Source: "storcli", ID: id, State: c.CommandStatus.Status,
				findings: []problem{{nagios.Unknown, fmt.Sprintf("storcli %s: command %s: %s", id, c.CommandStatus.Status, c.CommandStatus.Description)}}})
			continue
		}
		rd := c.ResponseData
		if rd == nil {
			return nil, nil, fmt.Errorf("%w: storcli: controller %s has no \"Response Data\"", ErrUnparsable, id)
		}
		ctrl := Controller{Source: "storcli", ID: id, Model: rd.ProductName, State: rd.Status.ControllerStatus}
		if ctrl.Model == "" {
			ctrl.Model = rd.Basics.Model
		}
		switch {
		case len(rd.CVInfo) > 0:
			ctrl.BBU = storcliBBU("cachevault", rd.CVInfo[0])
		case len(rd.BBUInfo) > 0:
			ctrl.BBU = storcliBBU("battery", rd.BBUInfo[0])
		}
		rebuilding, failed := map[string]bool{}, map[string][]string{}
		for _, pd := range rd.PDList {
			dg := strings.Trim(string(pd.DG), `"`)
			switch {
			case storcliPDGood[pd.State]:
			case storcliPDCopying[pd.State]:
				rebuilding[dg] = true
			case pd.State == "CFShld":
				ctrl.findings = append(ctrl.findings, problem{nagios.Warning, fmt.Sprintf("storcli %s: drive %s shielded for diagnostics", id, pd.EIDSlt)})
			case storcliPDFailed[pd.State]:
				failed[dg] = append(failed[dg], pd.EIDSlt)
			default:
				ctrl.findings = append(ctrl.findings, problem{nagios.Unknown, fmt.Sprintf("storcli %s: drive %s in unknown state %q", id, pd.EIDSlt, pd.State)})
			}
		}
		if loose := failed["-"]; len(loose) > 0 {
			ctrl.findings = append(ctrl.findings, problem{nagios.Critical, "storcli " + id + ": failed drives outside any array: " + strings.Join(loose, ", ")})
		}
		for _, vd := range rd.VDList {
			dg, vdID, ok := strings.Cut(vd.DGVD, "/")
			if !ok {
				return nil, nil, fmt.Errorf("%w: storcli: controller %s: virtual drive %q is not \"DG/VD\"", ErrUnparsable, id, vd.DGVD)
			}
			a := Array{Source: "storcli", Controller: id, Name: id + "/v" + vdID, Level: strings.ToLower(vd.Type),
				State: vd.State, Status: storcliVDStatus[vd.State], FailedDisks: failed[dg], WriteCache: storcliWriteCache(vd.Cache)}
			if vd.Name != "" {
				a.Notes = append(a.Notes, "name "+vd.Name)
			}
			if rebuilding[dg] && (a.Status == StatusDegraded || a.Status == StatusRebuilding) {
				a.Status, a.Operation = StatusRebuilding, "rebuild"
				a.Notes = append(a.Notes, "rebuild progress: storcli "+id+"/eall/sall show rebuild")
			}
			arrays = append(arrays, a)
		}
		ctrls = append(ctrls, ctrl)
	}
	return ctrls, arrays, nil
}

func storcliBBU(kind string, b storcliBackup) *BBU {
	u := &BBU{Kind: kind, Model: b.Model, State: b.State}
	switch s := strings.ToLower(b.State); {
	case s == "optimal":
		u.Status = BBUOptimal
	case strings.Contains(s, "learn"):
		u.Status, u.LearnCycleActive = BBULearning, true
	case strings.Contains(s, "charg"):
		u.Status = BBUCharging
	case strings.Contains(s, "fail"), strings.Contains(s, "degraded"), strings.Contains(s, "dgd"),
		strings.Contains(s, "attention"), strings.Contains(s, "missing"):
		u.Status = BBUFailed
	}
	return u
}

// storcliWriteCache decodes the write part of a "Cache" column such as RWBD,
// NRWTD or RAWBC (AWB = always write back, WB = write back, WT = write through).
func storcliWriteCache(cache string) string {
	switch {
	case strings.Contains(cache, "WB"):
		return "write-back"
	case strings.Contains(cache, "WT"):
		return "write-through"
	}
	return ""
}
