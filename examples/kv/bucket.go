package kv

import (
	"context"
	"fmt"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/supervision"
)

// Bucket is the handle of a bucket process: a GenServer holding a map of
// string keys to string values (the seed's KV.Bucket). It is a small value;
// copy it freely.
type Bucket struct{ pid actor.PID }

// BucketOf wraps the PID of a running bucket.
func BucketOf(pid actor.PID) Bucket { return Bucket{pid: pid} }

// PID returns the bucket's process.
func (b Bucket) PID() actor.PID { return b.pid }

// Bucket requests.
type (
	getReq struct{ key string }
	putReq struct{ key, val string }
	delReq struct{ key string }
)

// bucketServer is the bucket's GenServer, holding at most maxKeys keys.
type bucketServer struct{ maxKeys int }

func (bucketServer) Init(*actor.Context) (map[string]string, error) {
	return map[string]string{}, nil
}

func (b bucketServer) HandleCall(_ *actor.Context, _ behaviour.From, req any, s map[string]string) behaviour.Result[map[string]string] {
	switch r := req.(type) {
	case getReq:
		v, ok := s[r.key]
		return behaviour.Reply(lookup{val: v, ok: ok}, s)
	case putReq:
		if _, ok := s[r.key]; !ok && len(s) >= b.maxKeys {
			return behaviour.Reply(fmt.Errorf("put %q: %w (at most %d keys)", r.key, ErrBucketFull, b.maxKeys), s)
		}
		s[r.key] = r.val
		return behaviour.Reply(nil, s)
	case delReq:
		v, ok := s[r.key]
		delete(s, r.key)
		return behaviour.Reply(lookup{val: v, ok: ok}, s)
	}
	return behaviour.Reply(fmt.Errorf("kv: unknown bucket request %T", req), s)
}

// lookup is the answer to a get or delete.
type lookup struct {
	val string
	ok  bool
}

// StartBucket starts a bucket from sp, not supervised, holding at most
// cfg.MaxKeys keys. Buckets are normally created through a Registry, which
// starts them under the bucket supervisor.
func StartBucket(sp actor.Spawner, cfg Config) (Bucket, error) {
	pid, err := behaviour.Start[map[string]string](sp, bucketServer{maxKeys: cfg.withDefaults().MaxKeys})
	return Bucket{pid: pid}, err
}

// bucketTemplate is the bucket supervisor's child spec for buckets of at
// most cfg.MaxKeys keys.
func bucketTemplate(cfg Config) supervision.Template[struct{}] {
	srv := bucketServer{maxKeys: cfg.withDefaults().MaxKeys}
	return supervision.Template[struct{}]{
		Start: func(ctx *actor.Context, _ struct{}) (actor.PID, error) {
			return behaviour.StartLink[map[string]string](ctx, srv)
		},
		Restart: supervision.Temporary,
	}
}

// Get returns the value of key and whether it is set. It returns a
// *actor.CallError if the bucket is not alive or does not answer in time.
func (b Bucket) Get(ctx context.Context, key string) (string, bool, error) {
	r, err := behaviour.CallAs[lookup](ctx, b.pid, getReq{key: key})
	return r.val, r.ok, err
}

// Put sets key to val. It returns an error wrapping ErrBucketFull for a new
// key when the bucket holds its most keys, and errors as Get.
func (b Bucket) Put(ctx context.Context, key, val string) error {
	v, err := behaviour.Call(ctx, b.pid, putReq{key: key, val: val})
	if err != nil {
		return err
	}
	if e, ok := v.(error); ok {
		return e
	}
	return nil
}

// Delete removes key and returns the value it had, and whether it was set.
// Errors as Get.
func (b Bucket) Delete(ctx context.Context, key string) (string, bool, error) {
	r, err := behaviour.CallAs[lookup](ctx, b.pid, delReq{key: key})
	return r.val, r.ok, err
}
