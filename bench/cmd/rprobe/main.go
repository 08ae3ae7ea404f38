// Command rprobe measures a remote round trip layer by layer (issue 17,
// ADR 0008's amendment of 2026-12-01, second part): two OS processes on
// loopback, the measuring one calling, the other answering, with
//
//   - tcp1: bare frames on one TCP connection, echoed by the reader;
//   - tcp2: the same on one connection per direction, as Arbor's streams;
//     tcp2c adds the caller's hand-off (a reader goroutine gives each
//     reply to the waiting caller on a channel), tcp2w the callee's (the
//     reader gives each request to a worker goroutine, which answers),
//     tcp2cw both, as in Arbor's round trip;
//   - raw: Arbor's cluster, a plain process answering each *actor.Request;
//   - gen: Arbor's cluster, a GenServer answering (bench/systems/arbor's).
//
// It prints p50, p99, calls/s and the CPU time of each process per call
// (from /proc, over the measured loop). -cpuprofile profiles the caller;
// -trace writes a runtime/trace of both processes (<file> and
// <file>.peer). Run it as `go run ./cmd/rprobe -layer raw -n 20000`,
// and under GOMAXPROCS=1 to see the cost of waking a second thread.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/behaviour"
	"github.com/arbor-otp/arbor/cluster"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var (
	layer   = flag.String("layer", "gen", "tcp1 (one connection), tcp2 (one per direction; tcp2c: a reader hands replies to the caller; tcp2w: the peer's reader hands requests to a worker; tcp2cw: both), raw (cluster, plain process), gen (cluster, GenServer)")
	n       = flag.Int("n", 20000, "calls")
	peerF   = flag.Bool("peer", false, "internal")
	port    = flag.Int("port", 0, "internal")
	other   = flag.Int("other", 0, "internal")
	size    = flag.Int("size", 120, "frame bytes for tcp layers")
	cpuprof = flag.String("cpuprofile", "", "")
	trc     = flag.String("trace", "", "runtime/trace file (the peer writes <file>.peer)")
)

// cpu is the user+system CPU time of process pid so far, in ns.
func cpu(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return (u + st) * 1e7 // 100 ticks a second
}

func freePort() int {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func addr(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

func main() {
	flag.Parse()
	if *trc != "" {
		name := *trc
		if *peerF {
			name += ".peer"
		}
		f, _ := os.Create(name)
		_ = trace.Start(f)
		defer func() { trace.Stop(); f.Close() }()
	}
	if *peerF {
		if err := peer(); err != nil {
			fmt.Fprintln(os.Stderr, "peer:", err)
			os.Exit(1)
		}
		return
	}
	self, oth := freePort(), freePort()
	args := []string{"-peer", "-layer", *layer, "-port", strconv.Itoa(oth), "-other", strconv.Itoa(self), "-size", strconv.Itoa(*size)}
	if *trc != "" {
		args = append(args, "-trace", *trc)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		time.Sleep(100 * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	call, err := client(self, oth)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for i := 0; i < *n/20; i++ {
		if err := call(i); err != nil {
			fmt.Fprintln(os.Stderr, "warm", err)
			return
		}
	}
	if *cpuprof != "" {
		f, _ := os.Create(*cpuprof)
		_ = pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	s := make([]time.Duration, *n)
	c0, p0 := cpu(os.Getpid()), cpu(cmd.Process.Pid)
	start := time.Now()
	for i := range s {
		t0 := time.Now()
		if err := call(i); err != nil {
			fmt.Fprintln(os.Stderr, "call", err)
			return
		}
		s[i] = time.Since(t0)
	}
	el := time.Since(start)
	c1, p1 := cpu(os.Getpid()), cpu(cmd.Process.Pid)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	fmt.Printf("%-5s p50 %6.1f us p99 %6.1f us calls/s %6.0f cpu/call caller %5.1f us callee %5.1f us\n", *layer, float64(s[len(s)/2])/1e3, float64(s[len(s)*99/100])/1e3, float64(*n)/el.Seconds(),
		float64(c1-c0)/float64(*n)/1e3, float64(p1-p0)/float64(*n)/1e3)
}

// ---- tcp layers

func frame(w *bufio.Writer, b []byte) {
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(b)))
	w.Write(h[:])
	w.Write(b)
}

func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	k := int(binary.BigEndian.Uint32(h[:]))
	if cap(buf) < k {
		buf = make([]byte, k)
	}
	buf = buf[:k]
	_, err := io.ReadFull(r, buf)
	return buf, err
}

func peer() error {
	switch *layer {
	case "tcp1", "tcp2", "tcp2c", "tcp2w", "tcp2cw":
		l, err := net.Listen("tcp", addr(*port))
		if err != nil {
			return err
		}
		in, err := l.Accept()
		if err != nil {
			return err
		}
		out := in
		if *layer != "tcp1" {
			out, err = net.Dial("tcp", addr(*other))
			if err != nil {
				return err
			}
		}
		r := bufio.NewReaderSize(in, 64<<10)
		w := bufio.NewWriterSize(out, 64<<10)
		var buf []byte
		if strings.HasSuffix(*layer, "w") {
			// the reader hands each request to a worker goroutine, which
			// writes the reply, as Arbor's callee does
			work := make(chan []byte)
			go func() {
				for b := range work {
					frame(w, b)
					if err := w.Flush(); err != nil {
						return
					}
				}
			}()
			for {
				b, err := readFrame(r, nil)
				if err != nil {
					return nil
				}
				work <- b
			}
		}
		for {
			buf, err = readFrame(r, buf)
			if err != nil {
				return nil
			}
			frame(w, buf)
			if err := w.Flush(); err != nil {
				return nil
			}
		}
	}
	c, err := cluster.Start(context.Background(), "peer",
		cluster.WithListenAddr(addr(*port)),
		cluster.WithProvider(cluster.Static("main@"+addr(*other))),
		cluster.WithLogger(zerolog.New(io.Discard)))
	if err != nil {
		return err
	}
	if *layer == "raw" {
		_, err = c.Node().Spawn(actor.ReceiverFunc(func(ctx *actor.Context, m any) error {
			if r, ok := m.(*actor.Request); ok {
				if _, ok := r.Message().(*wrapperspb.StringValue); ok {
					r.Reply(wrapperspb.Bytes(cluster.MarshalPID(ctx.Self())))
					return nil
				}
				r.Reply(r.Message())
			}
			return nil
		}), actor.WithName("echo"))
	} else {
		_, err = behaviour.Start[int](c.Node(), pidEcho{}, behaviour.WithName("echo"))
	}
	if err != nil {
		return err
	}
	select {}
}

type pidEcho struct{}

func (pidEcho) Init(*actor.Context) (int, error) { return 0, nil }
func (pidEcho) HandleCall(ctx *actor.Context, _ behaviour.From, req any, s int) behaviour.Result[int] {
	if _, ok := req.(*wrapperspb.StringValue); ok {
		return behaviour.Reply(wrapperspb.Bytes(cluster.MarshalPID(ctx.Self())), s)
	}
	return behaviour.Reply(req, s)
}

func client(self, oth int) (func(int) error, error) {
	switch *layer {
	case "tcp1", "tcp2", "tcp2c", "tcp2w", "tcp2cw":
		var out net.Conn
		var err error
		var l net.Listener
		if *layer != "tcp1" {
			if l, err = net.Listen("tcp", addr(self)); err != nil {
				return nil, err
			}
		}
		for i := 0; i < 200; i++ {
			out, err = net.Dial("tcp", addr(oth))
			if err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			return nil, err
		}
		in := out
		if *layer != "tcp1" {
			in, err = l.Accept()
			if err != nil {
				return nil, err
			}
		}
		_ = in
		r := bufio.NewReaderSize(in, 64<<10)
		w := bufio.NewWriterSize(out, 64<<10)
		msg := make([]byte, *size)
		var buf []byte
		if strings.Contains(*layer, "c") {
			// a reader goroutine hands each reply to the waiting caller,
			// as Arbor's caller side does
			replies := make(chan error, 1)
			go func() {
				var b []byte
				for {
					var err error
					b, err = readFrame(r, b)
					replies <- err
					if err != nil {
						return
					}
				}
			}()
			return func(int) error {
				frame(w, msg)
				if err := w.Flush(); err != nil {
					return err
				}
				return <-replies
			}, nil
		}
		return func(int) error {
			frame(w, msg)
			if err := w.Flush(); err != nil {
				return err
			}
			buf, err = readFrame(r, buf)
			return err
		}, nil
	}
	c, err := cluster.Start(context.Background(), "main",
		cluster.WithListenAddr(addr(self)),
		cluster.WithProvider(cluster.Static("peer@"+addr(oth))),
		cluster.WithLogger(zerolog.New(io.Discard)))
	if err != nil {
		return nil, err
	}
	peerName := "peer@" + addr(oth)
	var echo actor.PID
	deadline := time.Now().Add(20 * time.Second)
	for {
		if slices.Contains(c.Nodes(), peerName) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			v, err := c.CallNamed(ctx, peerName, "echo", wrapperspb.String("pid"))
			cancel()
			if err == nil {
				echo, err = cluster.UnmarshalPID(v.(*wrapperspb.BytesValue).Value)
				if err == nil {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no peer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return func(i int) error {
		v, err := c.Node().Call(context.Background(), echo, wrapperspb.Int64(int64(i)))
		if err != nil {
			return err
		}
		if x, ok := v.(*wrapperspb.Int64Value); !ok || x.Value != int64(i) {
			return fmt.Errorf("reply %v", v)
		}
		return nil
	}, nil
}
