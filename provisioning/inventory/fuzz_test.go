package inventory

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode: any input either loads or fails with located errors; it never panics.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	seeds = append(seeds, "../../inventory.example.yaml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := decode(data, decodeOptions{file: "f.yaml", dir: "/inv", home: "/home/u"})
		if err == nil {
			if inv.Master().Name == "" {
				t.Fatal("loaded without a named master")
			}
			return
		}
		fes := FieldErrors(err)
		if len(fes) == 0 {
			t.Fatalf("error without located FieldErrors: %v", err)
		}
		for _, fe := range fes {
			if fe.Line < 1 || fe.File != "f.yaml" {
				t.Fatalf("unlocated error %+v", fe)
			}
		}
	})
}
