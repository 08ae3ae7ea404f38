package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/arbor-otp/arbor/actor"
	"github.com/arbor-otp/arbor/examples/kv"
)

// The line protocol. A request is one line (LF or CRLF); the reply is one
// line: OK, a value, or ERROR and why. Words are separated by spaces or
// tabs; a bucket name, a key and a value are each one word, case-sensitive
// and of any bytes but white space. Command names are case-insensitive
// (get = GET).
//
//	CREATE <bucket>              OK; OK also if the bucket exists
//	PUT <bucket> <key> <value>   OK
//	GET <bucket> <key>           the value; ERROR no key ... if unset
//	DELETE <bucket> <key>        OK, whether or not the key was set
//	DROP <bucket>                OK, whether or not the bucket existed;
//	                             the bucket and its keys are gone
//
// A command on a bucket that does not exist answers ERROR no bucket ...
// (DROP excepted). CREATE past the server's bucket cap (-max-buckets)
// answers ERROR too many buckets until one is dropped; PUT of a new key in
// a bucket at its key cap (-max-keys) answers ERROR bucket ... is full. A line longer than
// MaxLine bytes answers ERROR line too long. A command that does not
// finish within the call timeout answers ERROR timeout; the connection
// goes on. A last line without a newline, before the client closes its
// side, is answered like any other.
//
// User input quoted in an ERROR line is cut to at most 32 bytes at a
// character boundary (never inside a UTF-8 sequence) and quoted with Go's
// %q, so an ERROR line is always valid UTF-8 and one line.

// MaxLine is the longest request line the server reads, newline included.
// A longer line is discarded up to its newline and answered with an ERROR.
const MaxLine = 4096

// errTooLong is readLine's error for a line longer than MaxLine.
var errTooLong = errors.New("line too long")

// readLine returns the next line without its line ending; a last line cut
// by EOF is returned without error, and the next call returns io.EOF. For
// a line longer than the reader's buffer it discards the rest of the line
// and returns errTooLong; the next call reads the following line.
func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return "", errTooLong
	}
	if errors.Is(err, io.EOF) && len(b) > 0 {
		err = nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// command is a parsed request line.
type command struct {
	verb   string // CREATE, PUT, GET, DELETE, DROP
	bucket string
	key    string
	value  string
}

// usages gives each command's arguments, for ERROR replies.
var usages = map[string]string{
	"CREATE": "CREATE <bucket>",
	"PUT":    "PUT <bucket> <key> <value>",
	"GET":    "GET <bucket> <key>",
	"DELETE": "DELETE <bucket> <key>",
	"DROP":   "DROP <bucket>",
}

// usage lists the commands, for ERROR replies.
const usage = "CREATE <bucket> | PUT <bucket> <key> <value> | GET <bucket> <key> | DELETE <bucket> <key> | DROP <bucket>"

// parse reads one request line. Its errors are the text of an ERROR reply.
func parse(line string) (command, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return command{}, fmt.Errorf("empty line; commands: %s", usage)
	}
	verb := strings.ToUpper(f[0])
	u, ok := usages[verb]
	if !ok {
		return command{}, fmt.Errorf("unknown command %q; commands: %s", truncate(f[0]), usage)
	}
	if want := len(strings.Fields(u)) - 1; len(f)-1 != want {
		return command{}, fmt.Errorf("malformed %s: it takes %s, got %d (usage: %s)", verb, plural(want, "argument"), len(f)-1, u)
	}
	c := command{verb: verb, bucket: f[1]}
	if len(f) > 2 {
		c.key = f[2]
	}
	if len(f) > 3 {
		c.value = f[3]
	}
	return c, nil
}

// plural is "1 argument", "3 arguments".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// maxQuoted is the most bytes of user input quoted in a reply.
const maxQuoted = 32

// truncate shortens user input quoted in a reply to at most maxQuoted
// bytes and "...".
func truncate(s string) string { return cut(s, maxQuoted) }

// cut shortens s to at most n bytes and "...", cutting before a character,
// never inside one.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// run carries out a command against the kv registry and returns the reply
// line: OK, the value, or ERROR and why. ctx's deadline, timeout from now,
// bounds it.
func run(ctx context.Context, reg kv.Registry, c command, timeout time.Duration) string {
	bucket := fmt.Sprintf("bucket %q", truncate(c.bucket))
	switch c.verb {
	case "CREATE":
		_, err := reg.Create(ctx, c.bucket)
		switch {
		case errors.Is(err, kv.ErrTooManyBuckets):
			return "ERROR too many buckets; DROP one first"
		case err != nil:
			return errorReply("kv registry", err, timeout)
		}
		return "OK"
	case "DROP":
		if _, err := reg.Drop(ctx, c.bucket); err != nil {
			return errorReply("kv registry", err, timeout)
		}
		return "OK"
	}
	b, ok, err := reg.Lookup(ctx, c.bucket)
	if err != nil {
		return errorReply("kv registry", err, timeout)
	}
	if !ok {
		return "ERROR no " + bucket
	}
	switch c.verb {
	case "PUT":
		err = b.Put(ctx, c.key, c.value)
	case "GET":
		var v string
		v, ok, err = b.Get(ctx, c.key)
		if err == nil && !ok {
			return fmt.Sprintf("ERROR no key %q in %s", truncate(c.key), bucket)
		}
		if err == nil {
			return v
		}
	case "DELETE":
		_, _, err = b.Delete(ctx, c.key)
	}
	if errors.Is(err, actor.NoProc) {
		return "ERROR no " + bucket // dropped or crashed since the lookup
	}
	if errors.Is(err, kv.ErrBucketFull) {
		return "ERROR " + bucket + " is full; DELETE a key or DROP it first"
	}
	if err != nil {
		return errorReply(bucket, err, timeout)
	}
	return "OK"
}

// maxErrorText is the most bytes of an error's text put in a reply.
const maxErrorText = 200

// errorReply is the ERROR line for err from what (the kv registry, a
// bucket).
func errorReply(what string, err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("ERROR timeout (%s did not answer within %v)", what, timeout)
	}
	text := strings.ReplaceAll(err.Error(), "\n", " ")
	return fmt.Sprintf("ERROR %s: %s", what, cut(text, maxErrorText))
}
