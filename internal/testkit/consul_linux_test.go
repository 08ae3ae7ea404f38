package testkit_test

import (
	"os"
	"syscall"
	"testing"

	"github.com/arbor-otp/arbor/internal/testkit"
)

// tmpfsMagic is Linux's TMPFS_MAGIC, the f_type of a tmpfs.
const tmpfsMagic = 0x01021994

// A persistent agent keeps its Raft state on tmpfs where the machine has
// one: on a shared disk its fsyncs took seconds under load, and the lock
// tests' Consul requests timed out (TestLockModeLedgerAcrossFaults in a
// fresh-clone run). Its log is kept in the test's temp dir.
func TestPersistentConsulAgentKeepsRaftOnTmpfs(t *testing.T) {
	var shm syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &shm); err != nil || shm.Type != tmpfsMagic {
		if os.Getenv("CI") == "true" { // CI must not skip: the lock tests' agents need it
			t.Fatalf("no tmpfs at /dev/shm (statfs: %v, type %#x): the persistent Consul agent would keep Raft on the shared disk", err, shm.Type)
		}
		t.Skip("no tmpfs at /dev/shm")
	}
	a := testkit.StartPersistentConsulAgent(t)
	var st syscall.Statfs_t
	if err := syscall.Statfs(a.DataDir(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != tmpfsMagic {
		t.Errorf("raft state in %s, f_type %#x: not on tmpfs", a.DataDir(), st.Type)
	}
	a.Stop()
	a.Start() // the state survives a restart
	if _, err := os.Stat(a.LogPath()); err != nil {
		t.Errorf("agent log: %v", err)
	}
	if tail := a.LogTail(5); tail == "" {
		t.Error("empty agent log")
	}
}
