package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/examples/kv"
)

// MaxLine is the longest request line the server reads, newline included.
// A longer line is discarded up to its newline and answered with an ERROR.
const MaxLine = 4096

// errTooLong is readLine's error for a line longer than MaxLine.
var errTooLong = errors.New("line too long")

// readLine returns the next line without its line ending. For a line
// longer than the reader's buffer it discards the rest of the line and
// returns errTooLong; the next call reads the following line.
func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", errTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// command is a parsed request line.
type command struct {
	verb   string // CREATE, PUT, GET, DELETE
	bucket string
	key    string
	value  string
}

// usage lists the commands, for ERROR replies.
const usage = "CREATE <bucket> | PUT <bucket> <key> <value> | GET <bucket> <key> | DELETE <bucket> <key>"

// parse reads one request line. Its errors are the text of an ERROR reply.
func parse(line string) (command, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return command{}, fmt.Errorf("empty line; commands: %s", usage)
	}
	verb := strings.ToUpper(f[0])
	want := map[string]int{"CREATE": 2, "PUT": 4, "GET": 3, "DELETE": 3}
	n, ok := want[verb]
	if !ok {
		return command{}, fmt.Errorf("unknown command %q; commands: %s", truncate(f[0]), usage)
	}
	if len(f) != n {
		return command{}, fmt.Errorf("malformed %s: want %d arguments, got %d; commands: %s", verb, n-1, len(f)-1, usage)
	}
	c := command{verb: verb, bucket: f[1]}
	if n > 2 {
		c.key = f[2]
	}
	if n > 3 {
		c.value = f[3]
	}
	return c, nil
}

// truncate shortens user input quoted in a reply.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// run carries out a command against the kv registry and returns the reply
// line: OK, the value, or ERROR and why.
func run(ctx context.Context, reg kv.Registry, c command) string {
	if c.verb == "CREATE" {
		if _, err := reg.Create(ctx, c.bucket); err != nil {
			return "ERROR " + err.Error()
		}
		return "OK"
	}
	b, ok, err := reg.Lookup(ctx, c.bucket)
	if err != nil {
		return "ERROR " + err.Error()
	}
	if !ok {
		return fmt.Sprintf("ERROR no bucket %q", truncate(c.bucket))
	}
	switch c.verb {
	case "PUT":
		err = b.Put(ctx, c.key, c.value)
	case "GET":
		var v string
		v, ok, err = b.Get(ctx, c.key)
		if err == nil && !ok {
			return fmt.Sprintf("ERROR no key %q in bucket %q", truncate(c.key), truncate(c.bucket))
		}
		if err == nil {
			return v
		}
	case "DELETE":
		_, _, err = b.Delete(ctx, c.key)
	}
	if errors.Is(err, actor.NoProc) {
		return fmt.Sprintf("ERROR no bucket %q", truncate(c.bucket))
	}
	if err != nil {
		return "ERROR " + err.Error()
	}
	return "OK"
}
