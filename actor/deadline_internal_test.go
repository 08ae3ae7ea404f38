package actor

import (
	"testing"
	"unsafe"
)

// A Request stays in the 64-byte size class with its deadline: a Call
// allocates what it did before deadlines reached the callee.
func TestRequestSizeClass(t *testing.T) {
	if s := unsafe.Sizeof(Request{}); s > 64 {
		t.Fatalf("Request is %d bytes, over the 64-byte size class", s)
	}
}
