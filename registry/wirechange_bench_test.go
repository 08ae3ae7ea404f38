package registry

import (
	"strconv"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchmarkAppendEntryChange encodes one Registered change as the scope
// process does for each local write: a name, a PID of this node, a
// metadata message and the time.
func BenchmarkAppendEntryChange(b *testing.B) {
	pid := RemotePID("a@127.0.0.1:7000", 1, 12345, 1)
	meta := wrapperspb.String("meta-of-12345")
	var e changeEncoder
	buf := make([]byte, 0, 1<<16)
	names := make([]string, 1024)
	for i := range names {
		names[i] = "n" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if len(buf) > 60<<10 {
			buf = buf[:0]
		}
		var err error
		buf, err = e.appendEntryChange(buf, fChangeRegistered, names[i&1023], pid, meta, 1764600000000000000+int64(i), Normal{})
		if err != nil {
			b.Fatal(err)
		}
	}
}
