package cluster

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	pa "github.com/asynkron/protoactor-go/actor"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/cluster/internal/clusterpb"
)

// protoServiceName is the local name of the process every cluster node
// runs to make proxies of its protoactor actors for other nodes.
const protoServiceName = "arbor.protoactor"

// maxProtoID bounds the protoactor Id a ProtoProxyRequest may carry.
const maxProtoID = 1024

// Proxy returns a process that stands for the protoactor actor target of
// any node of the cluster, so Arbor code can Send, Cast and Call it (a
// Call is a protoactor request: the actor's ctx.Respond is the reply),
// Monitor it and Link to it, as with actor.Node's Proxy. For an actor of
// another node the process runs on that node (its node makes it on
// request, one process per actor), so everything between the two travels
// on Arbor's transport, never on protoactor remote's endpoints: links and
// monitors fire with NoConnection if that node is lost, and a message
// must be a proto.Message. target's Address names the node: a node's
// protoactor actors have the address in its name (name@host:port), an
// Arbor process's ProtoPID gives the process itself.
//
// Proxy returns actor.ErrNilProtoPID for nil, ErrUnknownProtoAddress if no
// node with an open session has target's address, the call's error if the
// node does not answer (an *actor.CallError), and a *ProxyError if it
// cannot make the proxy.
func (c *Cluster) Proxy(ctx context.Context, target *pa.PID) (actor.PID, error) {
	n := c.node
	if target == nil {
		return actor.PID{}, actor.ErrNilProtoPID
	}
	if strings.HasPrefix(target.Address, "arbor:") || target.Address == "nonhost" || target.Address == n.ActorSystem().Address() {
		return n.Proxy(target)
	}
	node := ""
	for _, name := range c.Nodes() {
		if _, addr, ok := strings.Cut(name, "@"); ok && addr == target.Address {
			node = name
			break
		}
	}
	if node == "" {
		return actor.PID{}, fmt.Errorf("%w: %s", ErrUnknownProtoAddress, target.Address)
	}
	v, err := c.CallNamed(ctx, node, protoServiceName, &clusterpb.ProtoProxyRequest{Version: protocolVersion, Id: target.Id})
	if err != nil {
		return actor.PID{}, err
	}
	r, ok := v.(*clusterpb.ProtoProxyReply)
	if !ok {
		return actor.PID{}, &ProxyError{Node: node, ID: target.Id, Text: fmt.Sprintf("unexpected answer %T", v)}
	}
	if r.GetError() != "" {
		return actor.PID{}, &ProxyError{Node: node, ID: target.Id, Text: r.GetError()}
	}
	pid := decodePID(r.GetProxy())
	if pid.IsZero() || pid.NodeName() != node {
		return actor.PID{}, &ProxyError{Node: node, ID: target.Id, Text: "answer names no process of that node"}
	}
	return pid, nil
}

// ProxyError is why a node could not make the proxy of one of its
// protoactor actors for Cluster.Proxy.
type ProxyError struct {
	Node string // the actor's node
	ID   string // the actor's protoactor Id
	Text string // what the node said
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("cluster: proxy of protoactor actor %s on %s: %s", e.ID, e.Node, e.Text)
}

// protoService is the process that answers ProtoProxyRequests.
type protoService struct{}

func (protoService) Receive(c *actor.Context, msg any) error {
	r, ok := msg.(*actor.Request)
	if !ok {
		return nil // anything else is dropped: this process only answers requests
	}
	req, ok := r.Message().(*clusterpb.ProtoProxyRequest)
	if !ok {
		r.Reply(&clusterpb.ProtoProxyReply{Error: fmt.Sprintf("unexpected request %T", r.Message())})
		return nil
	}
	r.Reply(proxyFor(c.Node(), req))
	return nil
}

// proxyFor makes (or finds) the proxy of the local protoactor actor a
// request names. Whatever the request holds, it answers: a bad one with
// an error.
func proxyFor(n *actor.Node, req *clusterpb.ProtoProxyRequest) *clusterpb.ProtoProxyReply {
	switch id := req.GetId(); {
	case req.GetVersion() != protocolVersion:
		return &clusterpb.ProtoProxyReply{Error: fmt.Sprintf("protocol version %d, want %d", req.GetVersion(), protocolVersion)}
	case id == "" || len(id) > maxProtoID || !utf8.ValidString(id):
		return &clusterpb.ProtoProxyReply{Error: "malformed protoactor Id"}
	}
	pid, err := n.Proxy(&pa.PID{Address: n.ActorSystem().Address(), Id: req.GetId()})
	if err != nil {
		return &clusterpb.ProtoProxyReply{Error: err.Error()}
	}
	return &clusterpb.ProtoProxyReply{Proxy: encodePID(pid)}
}

// startProtoService runs the node's protoService.
func startProtoService(n *actor.Node) error {
	if _, err := n.Spawn(protoService{}, actor.WithName(protoServiceName)); err != nil {
		return fmt.Errorf("start %s: %w", protoServiceName, err)
	}
	return nil
}
