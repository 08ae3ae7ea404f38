package main

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
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
		{line: "PUT shopping milk", wantErr: "malformed PUT: want 3 arguments, got 2"},
		{line: "CREATE", wantErr: "malformed CREATE: want 1 arguments, got 0"},
		{line: "GET a b c", wantErr: "malformed GET"},
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
		{"", io.EOF}, // an overlong line cut by EOF
	}
	for i, w := range want {
		line, err := readLine(r)
		if line != w.line || !errors.Is(err, w.err) {
			t.Errorf("line %d: %q, %v; want %q, %v", i, line, err, w.line, w.err)
		}
	}
}

func TestDefaultPort(t *testing.T) {
	t.Setenv("ARBOR_KV_PORT", "")
	if p := defaultPort(); p != DefaultPort {
		t.Errorf("defaultPort() = %d, want %d", p, DefaultPort)
	}
	t.Setenv("ARBOR_KV_PORT", "5050")
	if p := defaultPort(); p != 5050 {
		t.Errorf("defaultPort() with ARBOR_KV_PORT=5050 = %d", p)
	}
}
