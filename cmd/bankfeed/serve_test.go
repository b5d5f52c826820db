package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServe runs `bankfeed serve` as a real process and waits until its
// scheduler has started.
func startServe(t *testing.T, env map[string]string) (*exec.Cmd, *strings.Builder, chan struct{}) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"BANKFEED_TEST_MAIN=1", "BANKFEED_TEST_ARGS=serve"}
	if env["BANKFEED_LISTEN"] == "" {
		// serve always listens: never on the default port, which another
		// test (or the developer's own serve) may hold.
		cmd.Env = append(cmd.Env, "BANKFEED_LISTEN=127.0.0.1:0")
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	log := &strings.Builder{}
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		once := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !once && strings.Contains(sc.Text(), "scheduler started") {
				once = true
				close(started)
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("serve did not start:\n%s", log.String())
	}
	return cmd, log, done
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeStopsOnSIGTERM(t *testing.T) {
	env, _, tok := world(t)
	bf(t, env, "business", "put", "biz1", "--processor-token", tok["checking"])
	env["BANKFEED_API_KEYS"] = "serve-test-key-0123456789"
	env["BANKFEED_LISTEN"] = freePort(t)
	cmd, log, done := startServe(t, env)
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-done // every line read: Wait closes the pipe, losing what is left in it
	err := cmd.Wait()
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("serve took %s to stop", took)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, exitInterrupted, log)
	}
	for _, want := range []string{"business API listening", "shutting down", "interrupted"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// Whatever the catch-up run was doing when the signal came, the ledger
	// is whole: the next run converges.
	delete(env, "BANKFEED_API_KEYS")
	if r := bf(t, env, "--run-once"); r.code != 0 {
		t.Fatalf("next run: %d %s", r.code, r.stderr)
	}
	if r := bf(t, env, "doctor"); r.code != 0 {
		t.Fatalf("doctor after SIGTERM: %s %s", r.stdout, r.stderr)
	}
}

func TestServeSecondSignalExitsAtOnce(t *testing.T) {
	env, _, _ := world(t)
	cmd, log, done := startServe(t, env)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-done // every line read: Wait closes the pipe, losing what is left in it
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, exitInterrupted, log)
	}
}
