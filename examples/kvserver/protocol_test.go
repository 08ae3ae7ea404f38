package main

import (
	"bufio"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/arbor-otp/arbor/examples/kv"
)

func TestParse(t *testing.T) {
	tests := []struct {
		line    string
		want    command
		wantErr string
	}{
		{line: "CREATE shopping", want: command{verb: "CREATE", bucket: "shopping"}},
		{line: "put shopping milk 3", want: command{verb: "PUT", bucket: "shopping", key: "milk", value: "3"}},
		{line: "  GET   shopping   milk ", want: command{verb: "GET", bucket: "shopping", key: "milk"}},
		{line: "DELETE shopping milk", want: command{verb: "DELETE", bucket: "shopping", key: "milk"}},
		{line: "", wantErr: "empty line"},
		{line: "FLY away", wantErr: `unknown command "FLY"`},
		{line: "drop shopping", want: command{verb: "DROP", bucket: "shopping"}},
		{line: "PUT shopping milk", wantErr: "malformed PUT: it takes 3 arguments, got 2 (usage: PUT <bucket> <key> <value>)"},
		{line: "CREATE", wantErr: "malformed CREATE: it takes 1 argument, got 0 (usage: CREATE <bucket>)"},
		{line: "GET a b c", wantErr: "malformed GET: it takes 2 arguments, got 3 (usage: GET <bucket> <key>)"},
		{line: "DROP", wantErr: "malformed DROP: it takes 1 argument, got 0 (usage: DROP <bucket>)"},
	}
	for _, tt := range tests {
		got, err := parse(tt.line)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parse(%q) error = %v, want %q", tt.line, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

func TestReadLineBoundsLength(t *testing.T) {
	long := strings.Repeat("x", 3*MaxLine)
	r := bufio.NewReaderSize(strings.NewReader("GET a b\r\n"+long+"\nCREATE c\n"+long), MaxLine)
	want := []struct {
		line string
		err  error
	}{
		{"GET a b", nil},
		{"", errTooLong},
		{"CREATE c", nil},
		{"", errTooLong}, // an overlong line cut by EOF
		{"", io.EOF},
	}
	for i, w := range want {
		line, err := readLine(r)
		if line != w.line || !errors.Is(err, w.err) {
			t.Errorf("line %d: %q, %v; want %q, %v", i, line, err, w.line, w.err)
		}
	}
}

func TestReadLineLastLineWithoutNewline(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("CREATE a\nGET a b"), MaxLine)
	for i, w := range []struct {
		line string
		err  error
	}{{"CREATE a", nil}, {"GET a b", nil}, {"", io.EOF}, {"", io.EOF}} {
		line, err := readLine(r)
		if line != w.line || !errors.Is(err, w.err) {
			t.Errorf("line %d: %q, %v; want %q, %v", i, line, err, w.line, w.err)
		}
	}
}

func TestTruncateKeepsCharacters(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("é", 40),          // 2-byte runes: byte 32 starts one
		"a" + strings.Repeat("é", 40),    // byte 32 is inside one
		strings.Repeat("日本", 20),         // 3-byte runes
		"ab" + strings.Repeat("🌳", 20),   // 4-byte runes
		strings.Repeat("x", maxQuoted),   // not cut
		strings.Repeat("x", maxQuoted+1), // cut
	} {
		got := truncate(s)
		if !utf8.ValidString(got) {
			t.Errorf("truncate(%q) = %q: not valid UTF-8", s, got)
		}
		body := strings.TrimSuffix(got, "...")
		if len(body) > maxQuoted || !strings.HasPrefix(s, body) || (len(s) > maxQuoted) != (body != got) {
			t.Errorf("truncate(%q) = %q", s, got)
		}
	}
	if _, err := parse(strings.Repeat("é", 40)); err == nil || !utf8.ValidString(err.Error()) {
		t.Errorf("parse of a long unknown command: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		kv      kv.Config
		wantErr string
	}{
		{name: "defaults", want: Config{Addr: "127.0.0.1:4040", MaxConns: DefaultMaxConns, IdleTimeout: DefaultIdleTimeout, WriteTimeout: DefaultWriteTimeout, CallTimeout: DefaultCallTimeout}},
		{name: "port flag", args: []string{"-port", "5050"}, want: Config{Addr: "127.0.0.1:5050"}},
		{name: "port env", env: map[string]string{"ARBOR_KV_PORT": "5050"}, want: Config{Addr: "127.0.0.1:5050"}},
		{name: "flag beats env", args: []string{"-port", "6060"}, env: map[string]string{"ARBOR_KV_PORT": "5050"}, want: Config{Addr: "127.0.0.1:6060"}},
		{name: "listen", args: []string{"-listen", ":7070"}, want: Config{Addr: ":7070"}},
		{name: "listen env and port", args: []string{"-port", "1"}, env: map[string]string{"ARBOR_KV_LISTEN": "0.0.0.0:9"}, want: Config{Addr: "0.0.0.0:1"}},
		{name: "limits", args: []string{"-max-conns", "7", "-idle-timeout", "3s", "-write-timeout", "2s", "-call-timeout", "1s", "-max-buckets", "9"},
			want: Config{MaxConns: 7, IdleTimeout: 3 * time.Second, WriteTimeout: 2 * time.Second, CallTimeout: time.Second}, kv: kv.Config{MaxBuckets: 9}},
		{name: "max keys", args: []string{"-max-keys", "5"}, kv: kv.Config{MaxKeys: 5}},
		{name: "zero keys", env: map[string]string{"ARBOR_KV_MAX_KEYS": "0"}, wantErr: "-max-keys 0: want at least 1"},
		{name: "limits env", env: map[string]string{"ARBOR_KV_MAX_CONNS": "7", "ARBOR_KV_IDLE_TIMEOUT": "3s", "ARBOR_KV_MAX_BUCKETS": "9"},
			want: Config{MaxConns: 7, IdleTimeout: 3 * time.Second}, kv: kv.Config{MaxBuckets: 9}},
		{name: "bad port env", env: map[string]string{"ARBOR_KV_PORT": "abc"}, wantErr: `ARBOR_KV_PORT="abc": not a port number from 0 to 65535`},
		{name: "port env out of range", env: map[string]string{"ARBOR_KV_PORT": "70000"}, wantErr: `ARBOR_KV_PORT="70000"`},
		{name: "bad port flag", args: []string{"-port", "-3"}, wantErr: "-port -3"},
		{name: "bad listen", args: []string{"-listen", "localhost"}, wantErr: `-listen "localhost": want host:port`},
		{name: "bad listen port", args: []string{"-listen", "localhost:http"}, wantErr: `-listen "localhost:http": port "http"`},
		{name: "bad idle env", env: map[string]string{"ARBOR_KV_IDLE_TIMEOUT": "5"}, wantErr: `ARBOR_KV_IDLE_TIMEOUT="5": not a duration`},
		{name: "zero idle", args: []string{"-idle-timeout", "0"}, wantErr: "-idle-timeout 0s: want a positive duration"},
		{name: "bad conns env", env: map[string]string{"ARBOR_KV_MAX_CONNS": "many"}, wantErr: `ARBOR_KV_MAX_CONNS="many": not a whole number`},
		{name: "zero conns", args: []string{"-max-conns", "0"}, wantErr: "-max-conns 0: want at least 1"},
		{name: "stray argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{name: "unknown flag", args: []string{"-verbose"}, wantErr: "flag provided but not defined: -verbose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			got, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, &out)
			if tt.wantErr != "" {
				if !errors.Is(err, errUsage) || !strings.Contains(out.String(), tt.wantErr) {
					t.Fatalf("err %v, output %q; want errUsage and %q", err, out.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v, output %q", err, out.String())
			}
			want := tt.want
			if want.Addr == "" {
				want.Addr = "127.0.0.1:4040"
			}
			want = want.withDefaults()
			if got.server != want {
				t.Errorf("config %+v, want %+v", got.server, want)
			}
			wantKV := tt.kv
			if wantKV.MaxBuckets == 0 {
				wantKV.MaxBuckets = kv.DefaultMaxBuckets
			}
			if wantKV.MaxKeys == 0 {
				wantKV.MaxKeys = kv.DefaultMaxKeys
			}
			if got.kv != wantKV {
				t.Errorf("kv config %+v, want %+v", got.kv, wantKV)
			}
		})
	}
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{want: DefaultObserver},
		{args: []string{"-observer", "127.0.0.1:0"}, want: "127.0.0.1:0"},
		{args: []string{"-observer", ""}, env: map[string]string{"ARBOR_KV_OBSERVER": "127.0.0.1:9"}, want: ""},
		{env: map[string]string{"ARBOR_KV_OBSERVER": "off"}, want: ""},
		{args: []string{"-observer", "off"}, want: ""},
		{env: map[string]string{"ARBOR_KV_OBSERVER": "[::1]:5000"}, want: "[::1]:5000"},
	} {
		got, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
		if err != nil || got.observer != tt.want {
			t.Errorf("args %q env %v: observer %q, %v; want %q", tt.args, tt.env, got.observer, err, tt.want)
		}
	}
	for _, bad := range []string{"4041", "localhost:http", "127.0.0.1:70000"} {
		var out strings.Builder
		if _, err := parseOptions([]string{"-observer", bad}, func(string) string { return "" }, &out); !errors.Is(err, errUsage) || !strings.Contains(out.String(), "-observer") {
			t.Errorf("-observer %q: %v, output %q; want errUsage naming -observer", bad, err, out.String())
		}
	}
	if _, err := parseOptions([]string{"-h"}, func(string) string { return "" }, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}
