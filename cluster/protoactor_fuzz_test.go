package cluster

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// FuzzProtoProxyRequest feeds arbitrary bytes, as a ProtoProxyRequest
// from the wire, to the node's proxy service: it never panics, always
// answers, and answers with a proxy of this node or an error, never both.
func FuzzProtoProxyRequest(f *testing.F) {
	for _, r := range []*clusterpb.ProtoProxyRequest{
		{Version: protocolVersion, Id: "$1"},
		{Version: protocolVersion, Id: "arbor:x@h:1"},
		{Version: protocolVersion},
		{Version: 99, Id: "$2"},
		{Version: protocolVersion, Id: "\xff"},
	} {
		b, _ := proto.Marshal(r)
		f.Add(b)
	}
	n := actor.NewNode(actor.WithNodeName("fuzz@127.0.0.1:1"), actor.WithLogger(zerolog.Nop()))
	f.Cleanup(func() { _ = n.Stop(context.Background()) })
	f.Fuzz(func(t *testing.T, b []byte) {
		req := &clusterpb.ProtoProxyRequest{}
		if proto.Unmarshal(b, req) != nil {
			return // the transport drops and counts it before any handler
		}
		rep := proxyFor(n, req)
		pid := decodePID(rep.GetProxy())
		if (rep.GetError() == "") == pid.IsZero() {
			t.Fatalf("answer %v to %v: a proxy or an error, exactly one", rep, req)
		}
		if !pid.IsZero() && !n.IsLocal(pid) {
			t.Fatalf("proxy %v is not of this node", pid)
		}
	})
}
