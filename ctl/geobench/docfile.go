package geobench

import (
	"bytes"
	"fmt"
	"os"
)

// The results of a section go between these lines of docs/geobench.md; the
// text around them (what the figures and floors mean) is written by hand.
func marks(section string) (begin, end string) {
	return "<!-- geobench results " + section + ": begin (written by make geobench) -->\n",
		"<!-- geobench results " + section + ": end -->\n"
}

// ReplaceResults puts results between the file's marks of section.
func ReplaceResults(path, section string, results []byte) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	beginMark, endMark := marks(section)
	b := bytes.Index(doc, []byte(beginMark))
	e := bytes.Index(doc, []byte(endMark))
	if b < 0 || e < b {
		return fmt.Errorf("%s: no result marks (%q ... %q)", path, bytes.TrimSpace([]byte(beginMark)), bytes.TrimSpace([]byte(endMark)))
	}
	var out bytes.Buffer
	out.Write(doc[:b+len(beginMark)])
	out.Write(results)
	out.Write(doc[e:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}
