package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/arbor-otp/arbor/examples/kv"
)

// Defaults of Config and of the command line.
const (
	// DefaultHost is the interface served when -listen does not name one:
	// loopback only, so a server started to try the example is not open to
	// the network.
	DefaultHost = "127.0.0.1"
	// DefaultPort is the port served when neither -port nor ARBOR_KV_PORT
	// nor -listen says otherwise.
	DefaultPort = 4040
	// DefaultMaxConns is how many clients are served at once; one more is
	// answered "ERROR too many connections" and closed.
	DefaultMaxConns = 1024
	// DefaultIdleTimeout is how long a connection may go without sending a
	// complete request line before it is closed.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultWriteTimeout is how long writing one reply may take (a client
	// that does not read its replies is closed).
	DefaultWriteTimeout = 10 * time.Second
	// DefaultCallTimeout is how long a command may take before the client
	// gets "ERROR timeout".
	DefaultCallTimeout = 5 * time.Second
	// DefaultObserver is where the observer page is served: loopback
	// only, on the port after the kv server's. -observer "" (or
	// ARBOR_KV_OBSERVER=off) turns it off.
	DefaultObserver = "127.0.0.1:4041"
)

// Config is what the kvserver application serves with. A zero field takes
// its default, so Config{} serves on 127.0.0.1:4040.
type Config struct {
	Addr         string        // host:port to listen on; port 0 picks a free one
	MaxConns     int           // clients served at once
	IdleTimeout  time.Duration // longest wait for a request line
	WriteTimeout time.Duration // longest write of a reply
	CallTimeout  time.Duration // longest run of a command
}

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = net.JoinHostPort(DefaultHost, strconv.Itoa(DefaultPort))
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	return c
}

// options is the parsed command line.
type options struct {
	server   Config
	kv       kv.Config
	observer string // host:port of the observer page, or empty for none
}

// errUsage is parseOptions's error for a bad command line or environment;
// the message has been written to the flag set's output already.
var errUsage = errors.New("kvserver: bad usage")

// parseOptions reads the command line args, each flag defaulting to its
// environment variable (looked up with getenv) and then to the built-in
// default. A flag given on the command line beats its variable; -port and
// ARBOR_KV_PORT replace the port of -listen. A malformed value, in a flag
// or a variable, is an error naming it, written to out, and errUsage is
// returned; -h returns flag.ErrHelp.
func parseOptions(args []string, getenv func(string) string, out io.Writer) (options, error) {
	fs := flag.NewFlagSet("kvserver", flag.ContinueOnError)
	fs.SetOutput(out)
	fail := func(format string, a ...any) (options, error) {
		fmt.Fprintf(out, "kvserver: "+format+"\n", a...)
		fs.Usage()
		return options{}, errUsage
	}

	env := envReader{getenv: getenv}
	listen := env.str("ARBOR_KV_LISTEN", net.JoinHostPort(DefaultHost, strconv.Itoa(DefaultPort)))
	port := env.int("ARBOR_KV_PORT", -1)
	maxConns := env.int("ARBOR_KV_MAX_CONNS", DefaultMaxConns)
	maxBuckets := env.int("ARBOR_KV_MAX_BUCKETS", kv.DefaultMaxBuckets)
	maxKeys := env.int("ARBOR_KV_MAX_KEYS", kv.DefaultMaxKeys)
	idle := env.duration("ARBOR_KV_IDLE_TIMEOUT", DefaultIdleTimeout)
	write := env.duration("ARBOR_KV_WRITE_TIMEOUT", DefaultWriteTimeout)
	call := env.duration("ARBOR_KV_CALL_TIMEOUT", DefaultCallTimeout)
	observerAddr := env.str("ARBOR_KV_OBSERVER", DefaultObserver)
	if env.err != nil {
		return fail("%v", env.err)
	}

	fs.StringVar(&listen, "listen", listen, "`host:port` to listen on; an empty host is every interface (env ARBOR_KV_LISTEN)")
	portDefault := port
	if portDefault < 0 {
		portDefault = DefaultPort
	}
	portFlag := fs.Int("port", portDefault, "TCP port to listen on, replacing the port of -listen (env ARBOR_KV_PORT)")
	fs.IntVar(&maxConns, "max-conns", maxConns, "clients served at once; more are refused with an ERROR line (env ARBOR_KV_MAX_CONNS)")
	fs.IntVar(&maxBuckets, "max-buckets", maxBuckets, "buckets that may exist at once (env ARBOR_KV_MAX_BUCKETS)")
	fs.IntVar(&maxKeys, "max-keys", maxKeys, "keys a bucket may hold (env ARBOR_KV_MAX_KEYS)")
	fs.DurationVar(&idle, "idle-timeout", idle, "close a connection that sends no complete line for this long (env ARBOR_KV_IDLE_TIMEOUT)")
	fs.DurationVar(&write, "write-timeout", write, "close a connection whose reply cannot be written in this long (env ARBOR_KV_WRITE_TIMEOUT)")
	fs.DurationVar(&call, "call-timeout", call, "answer ERROR timeout to a command that takes longer (env ARBOR_KV_CALL_TIMEOUT)")
	fs.StringVar(&observerAddr, "observer", observerAddr, "`host:port` of the observer page (package observer); empty or off turns it off (env ARBOR_KV_OBSERVER)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, err
		}
		return options{}, errUsage
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	portSet := port >= 0
	fs.Visit(func(f *flag.Flag) { portSet = portSet || f.Name == "port" })

	host, lport, err := net.SplitHostPort(listen)
	if err != nil {
		return fail("-listen %q: want host:port (%v)", listen, err)
	}
	if _, err := parsePort(lport); err != nil {
		return fail("-listen %q: port %q: %v", listen, lport, err)
	}
	if portSet {
		if *portFlag < 0 || *portFlag > 65535 {
			return fail("-port %d: want a port number from 0 to 65535", *portFlag)
		}
		lport = strconv.Itoa(*portFlag)
	}
	if observerAddr == "off" {
		observerAddr = ""
	}
	if observerAddr != "" {
		_, oport, err := net.SplitHostPort(observerAddr)
		if err == nil {
			_, err = parsePort(oport)
		}
		if err != nil {
			return fail("-observer %q: want host:port, or empty to turn it off (%v)", observerAddr, err)
		}
	}
	switch {
	case maxConns < 1:
		return fail("-max-conns %d: want at least 1", maxConns)
	case maxBuckets < 1:
		return fail("-max-buckets %d: want at least 1", maxBuckets)
	case maxKeys < 1:
		return fail("-max-keys %d: want at least 1", maxKeys)
	case idle <= 0:
		return fail("-idle-timeout %v: want a positive duration", idle)
	case write <= 0:
		return fail("-write-timeout %v: want a positive duration", write)
	case call <= 0:
		return fail("-call-timeout %v: want a positive duration", call)
	}
	return options{
		server: Config{
			Addr:         net.JoinHostPort(host, lport),
			MaxConns:     maxConns,
			IdleTimeout:  idle,
			WriteTimeout: write,
			CallTimeout:  call,
		},
		kv:       kv.Config{MaxBuckets: maxBuckets, MaxKeys: maxKeys},
		observer: observerAddr,
	}, nil
}

// parsePort reads a TCP port number.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 {
		return 0, errors.New("not a port number from 0 to 65535")
	}
	return p, nil
}

// envReader reads typed environment variables, keeping the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) str(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

func (e *envReader) int(name string, def int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	var n int
	var err error
	if name == "ARBOR_KV_PORT" {
		n, err = parsePort(v)
	} else if n, err = strconv.Atoi(v); err != nil {
		err = errors.New("not a whole number")
	}
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: %v", name, v, err)
	}
	return n
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: not a duration such as 30s or 5m", name, v)
	}
	return d
}
