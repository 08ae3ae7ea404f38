package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// recordingStream is a clientStream that keeps the packets sent on it and
// runs onSend (if set) as each is sent, as a sender queueing more while
// the writer is at work would.
type recordingStream struct {
	sent   [][]byte
	onSend func()
}

func (s *recordingStream) SendMsg(m any) error {
	s.sent = append(s.sent, bytes.Clone(*m.(*[]byte)))
	if s.onSend != nil {
		s.onSend()
	}
	return nil
}

func (s *recordingStream) RecvMsg(any) error { return errors.New("no reader") }
func (s *recordingStream) CloseSend() error  { return nil }

// records returns the user messages of the UserBatches sent on s.
func (s *recordingStream) records(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, b := range s.sent {
		pkt, err := decodePacket(b)
		if err != nil {
			t.Fatal(err)
		}
		data := pkt.GetUsers().GetMessages()
		for len(data) > 0 {
			rec, n := protowire.ConsumeBytes(data)
			if n < 0 {
				t.Fatalf("a UserBatch that does not parse (%d records read)", len(out))
			}
			out, data = append(out, rec), data[n:]
		}
	}
	return out
}

// TestWriterNeverSendsABufferSendersFill: the writer hands its drained
// users buffer back for reuse; a drain that found only envelopes (no
// user message to take) must not hand back the buffer senders still fill,
// or the next drain sends a buffer that senders overwrite under it (seen
// as "malformed envelope: dropped the rest of a batch" on the peer, then
// a registry scope's gap and full re-sync, when a burst of more than
// maxSpareBytes had left the writer without a spare buffer).
func TestWriterNeverSendsABufferSendersFill(t *testing.T) {
	s := &recordingStream{}
	c := newPeerConn(s, func() {})
	p := &peer{name: "x@127.0.0.1:1", conn: c}
	var want [][]byte
	n := 0
	write := func(total, size int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for sent := 0; sent < total; sent += size {
			rec := bytes.Repeat([]byte{byte(n)}, size)
			copy(rec, fmt.Sprint(n))
			n++
			want = append(want, rec)
			p.writeUserLocked(userRecord(rec))
		}
	}
	drain := func() {
		p.mu.Lock()
		p.writing = true
		p.mu.Unlock()
		p.drain(c, false)
	}
	write(100<<10, 1000) // a buffer the writer keeps as its spare
	drain()
	write(maxSpareBytes+maxBatchBytes, 1000) // a burst too large to keep: no spare after it
	drain()
	p.mu.Lock() // a drain of an envelope alone
	p.queue = append(p.queue, queued{at: 0, env: &clusterpb.Envelope{Body: &clusterpb.Envelope_Heartbeat{Heartbeat: &clusterpb.Heartbeat{}}}})
	p.mu.Unlock()
	drain()
	write(40<<10, 1000) // two batches; while the first is sent, senders queue more
	s.onSend = func() {
		s.onSend = nil
		write(40<<10, 777)
	}
	drain()
	got := s.records(t)
	if len(got) != len(want) {
		t.Fatalf("%d user messages sent, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("user message %d sent as %q..., want %q...", i, got[i][:8], want[i][:8])
		}
	}
}
