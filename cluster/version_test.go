package cluster

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestProtocolVersionDocumented checks that arbor.proto and
// docs/clustering.md state the protocol version the code sends.
func TestProtocolVersionDocumented(t *testing.T) {
	stated := regexp.MustCompile(`protocol\s+version\s+\(?(\d+)`)
	for _, file := range []string{
		filepath.Join("internal", "clusterpb", "arbor.proto"),
		filepath.Join("..", "docs", "clustering.md"),
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		found := stated.FindAllSubmatch(b, -1)
		if len(found) == 0 {
			t.Errorf("%s does not state the protocol version (want %d)", file, protocolVersion)
		}
		for _, m := range found {
			if v, _ := strconv.Atoi(string(m[1])); v != protocolVersion {
				t.Errorf("%s says %q; the code sends version %d", file, m[0], protocolVersion)
			}
		}
	}
}
