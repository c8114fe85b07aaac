package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// cdp drives a headless chromium through the DevTools protocol over a
// pipe (--remote-debugging-pipe: chromium reads commands, each ended by a
// NUL byte, from fd 3 and writes answers and events to fd 4), attached to
// one page: enough for a test to click the dashboard's buttons and read
// what the page shows, with no library.
type cdp struct {
	t       *testing.T
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	next    int
	session string
	stderr  *syncBuffer
}

// startCDP starts chromium with profile as its user data dir, opens url in
// a page and attaches to it.
func startCDP(t *testing.T, browser, profile, url string) *cdp {
	t.Helper()
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &cdp{t: t, in: cmdW, out: bufio.NewReader(outR), stderr: &syncBuffer{}}
	c.cmd = exec.Command(browser, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--user-data-dir="+profile, "--window-size=1400,860", "--remote-debugging-pipe", "about:blank")
	c.cmd.ExtraFiles = []*os.File{cmdR, outW} // fds 3 and 4
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmdR.Close()
	outW.Close()
	t.Cleanup(func() {
		c.in.Close()
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
		outR.Close()
	})
	var target struct {
		TargetID string `json:"targetId"`
	}
	c.call("Target.createTarget", map[string]any{"url": url}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	c.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	c.session = att.SessionID
	return c
}

// call sends method with params (to the attached page once there is
// one) and decodes its result into result; events in between are skipped.
func (c *cdp) call(method string, params any, result any) {
	c.t.Helper()
	c.next++
	msg := map[string]any{"id": c.next, "method": method, "params": params}
	if c.session != "" {
		msg["sessionId"] = c.session
	}
	b, _ := json.Marshal(msg)
	if _, err := c.in.Write(append(b, 0)); err != nil {
		c.t.Fatalf("devtools %s: %v\n%s", method, err, c.stderr)
	}
	type answer struct {
		ID     int             `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	got := make(chan answer, 1)
	errc := make(chan error, 1)
	go func() {
		for {
			line, err := c.out.ReadBytes(0)
			if err != nil {
				errc <- err
				return
			}
			var a answer
			if json.Unmarshal(bytes.TrimSuffix(line, []byte{0}), &a) == nil && a.ID == c.next {
				got <- a
				return
			}
		}
	}()
	select {
	case a := <-got:
		if a.Error != nil {
			c.t.Fatalf("devtools %s: %s", method, a.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(a.Result, result); err != nil {
				c.t.Fatalf("devtools %s: %v in %s", method, err, a.Result)
			}
		}
	case err := <-errc:
		c.t.Fatalf("devtools %s: %v\n%s", method, err, c.stderr)
	case <-time.After(30 * time.Second):
		c.t.Fatalf("devtools %s: no answer in 30 s\n%s", method, c.stderr)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting a promise)
// and returns its value as JSON.
func (c *cdp) eval(expr string) string {
	c.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	c.call("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r)
	if r.Exception != nil {
		c.t.Fatalf("in the page, %s: %s %s", expr, r.Exception.Text, r.Exception.Exception.Description)
	}
	return string(r.Result.Value)
}

// waitFor evaluates expr until it is true, failing the test after d.
func (c *cdp) waitFor(what, expr string, d time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for c.eval(expr) != "true" {
		select {
		case <-ctx.Done():
			c.t.Fatalf("%s: still not so after %v (%s); the page's banner: %s", what, d, expr, c.eval(`document.querySelector("#banner").textContent`))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// js quotes s as a JavaScript string.
func js(s string) string { b, _ := json.Marshal(s); return string(b) }
