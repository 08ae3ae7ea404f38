package registry

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/arbor-otp/arbor/registry/internal/registrypb"
)

// TestChangeEncodingMatchesGenerated: the hand-encoded changes
// (wirechange.go) are the bytes the generated code writes for the same
// messages, and decode to them.
func TestChangeEncodingMatchesGenerated(t *testing.T) {
	node := actor.NewNode(actor.WithNodeName("x@127.0.0.1:9"))
	defer func() { _ = node.Stop(context.Background()) }()
	pid, err := node.Spawn(idle{})
	if err != nil {
		t.Fatal(err)
	}
	given, err := anypb.New(wrapperspb.Int64(-3))
	if err != nil {
		t.Fatal(err)
	}
	reasons := []Reason{Normal{}, ProcessExit{Err: actor.Killed}, ProcessExit{Err: errExitUnknown}, ProcessExit{},
		ConflictResolution{}, Undefined{}}
	metas := []any{nil, wrapperspb.String("meta"), wrapperspb.String(""), given, &anypb.Any{},
		wrapperspb.Bytes(bytes.Repeat([]byte{7}, 300))}
	got, want := encodeEveryChange(t, pid, reasons, metas)
	var back registrypb.Changes
	if err := proto.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&back, want) {
		t.Fatalf("hand-encoded changes decode to\n%v\nwant\n%v", &back, want)
	}
	wantb, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wantb) {
		t.Errorf("hand-encoded bytes differ from the generated code's")
	}
	// The body sendOut sends is the ScopeMessage's changes field.
	var sm registrypb.ScopeMessage
	if err := proto.Unmarshal(changesBody(got), &sm); err != nil || !proto.Equal(sm.GetChanges(), want) {
		t.Fatalf("changes body: %v", err)
	}
	var enc changeEncoder
	if _, err := enc.appendEntryChange(nil, fChangeRegistered, "n", pid, 42, 0, Normal{}); !errors.Is(err, ErrMetaNotProto) {
		t.Fatalf("metadata that is not a proto.Message: %v", err)
	}
	if _, _, n := protowire.ConsumeField(changesBody(nil)); n != 3 { // a two-byte tag (field 16) and a zero length
		t.Fatalf("empty body is %d bytes", n)
	}
}

type idle struct{}

func (idle) Receive(*actor.Context, any) error { return nil }

// encodeEveryChange hand-encodes every kind of change for pid with each
// reason and metadata (and a few times), and returns the bytes with the
// Changes message the generated code would write for them.
func encodeEveryChange(t *testing.T, pid actor.PID, reasons []Reason, metas []any) (hand []byte, want *registrypb.Changes) {
	t.Helper()
	pidb := cluster.MarshalPID(pid)
	var enc changeEncoder
	want = &registrypb.Changes{}
	for _, reason := range reasons {
		for _, meta := range metas {
			for _, time := range []int64{0, 1, -1, 1 << 60} {
				m, err := encodeMeta(meta)
				if err != nil {
					t.Fatal(err)
				}
				if hand, err = enc.appendEntryChange(hand, fChangeRegistered, "name", pid, meta, time, reason); err != nil {
					t.Fatal(err)
				}
				want.Changes = append(want.Changes, &registrypb.Change{Change: &registrypb.Change_Registered{Registered: &registrypb.Registered{
					Entry: &registrypb.Name{Name: "name", Pid: pidb, Meta: m, Time: time}, Reason: encodeReason(reason)}}})
				if hand, err = enc.appendEntryChange(hand, fChangeJoined, "group", pid, meta, time, reason); err != nil {
					t.Fatal(err)
				}
				want.Changes = append(want.Changes, &registrypb.Change{Change: &registrypb.Change_Joined{Joined: &registrypb.Joined{
					Entry: &registrypb.Member{Group: "group", Pid: pidb, Meta: m, Time: time}, Reason: encodeReason(reason)}}})
			}
		}
		hand = enc.appendKeyChange(hand, fChangeUnregistered, "name", pid, reason)
		want.Changes = append(want.Changes, &registrypb.Change{Change: &registrypb.Change_Unregistered{Unregistered: &registrypb.Unregistered{
			Name: "name", Pid: pidb, Reason: encodeReason(reason)}}})
		hand = enc.appendKeyChange(hand, fChangeLeft, "group", pid, reason)
		want.Changes = append(want.Changes, &registrypb.Change{Change: &registrypb.Change_Left{Left: &registrypb.Left{
			Group: "group", Pid: pidb, Reason: encodeReason(reason)}}})
		hand = enc.appendExited(hand, pid, reason)
		want.Changes = append(want.Changes, &registrypb.Change{Change: &registrypb.Change_Exited{Exited: &registrypb.Exited{
			Pid: pidb, Reason: encodeReason(reason)}}})
	}
	return hand, want
}

// changesBody wraps encoded Changes entries as a ScopeMessage's changes
// field (the bytes registrypb.ChangesMessage writes after its header).
func changesBody(entries []byte) []byte {
	b := make([]byte, 0, 2+protowire.SizeVarint(uint64(len(entries)))+len(entries))
	b = protowire.AppendTag(b, fScopeChanges, protowire.BytesType)
	return protowire.AppendBytes(b, entries)
}
