package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The dashboard in a real browser: a 3-node cluster of memdbd processes
// (with an admin key, which the page's reads do not need) under a little
// load, node 1's admin API opened in headless chromium. The rendered DOM
// must show the three members, normal and alive, in the members table, the
// ring and its legend, with their buttons; then a screenshot is written.
// Last, through the DevTools protocol, the page's shutdown button is
// clicked: confirmed, refused without the key and with a wrong one, and
// done with the right one.
//
// MEMDB_DASHBOARD_PNG=FILE keeps the screenshot there (make screenshot
// writes docs/dashboard.png), and MEMDB_DASHBOARD_LOAD=DUR runs the load
// that long first, so the charts have something to show.
//
// It skips only when chromium is not installed (make test installs it
// with scripts/need.sh).
func TestDashboard(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (make test installs it with scripts/need.sh): cannot load the dashboard in a browser")
	}
	load := 2 * time.Second
	if s := os.Getenv("MEMDB_DASHBOARD_LOAD"); s != "" {
		if load, err = time.ParseDuration(s); err != nil {
			t.Fatalf("MEMDB_DASHBOARD_LOAD=%q: %v", s, err)
		}
	}
	png := filepath.Join(t.TempDir(), "dashboard.png")
	if p := os.Getenv("MEMDB_DASHBOARD_PNG"); p != "" {
		png = p
	}

	c := newCluster(t, 3, 3)
	for _, n := range c.nodes {
		n.extra = []string{"-admin-key", "adm-dash"}
	}
	c.startAll()
	c.waitNormal(30 * time.Second)

	// Load from two clients, writes and reads, until the screenshot is taken.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, test := range []string{"set", "get"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, filepath.Join(binaries(t), "memdb"), "-addr", c.addrs(1, 2, 3),
				"bench", "-q", "-c", "4", "-n", "100000000", "-r", "5000", "-t", test)
			cmd.Env = append(os.Environ(), "MEMDB_CLIENT_KEY=")
			cmd.Run() // ended by ctx
		}()
	}
	defer wg.Wait()
	defer stop()
	time.Sleep(load)

	url := "http://" + c.node(1).http + "/"
	profile := t.TempDir()
	chromium := func(args ...string) string {
		t.Helper()
		cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		all := append([]string{"--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
			"--user-data-dir=" + profile, "--window-size=1400,690", "--virtual-time-budget=5000"}, args...)
		cmd := exec.CommandContext(cctx, browser, append(all, url)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}

	start := time.Now()
	dom := chromium("--dump-dom")
	for id := 1; id <= 3; id++ {
		for what, re := range map[string]string{
			"a row in the members table":  fmt.Sprintf(`<tr data-member="%d"`, id),
			"a line in the ring's legend": fmt.Sprintf(`<li data-member="%d">`, id),
			"an arc of the ring":          fmt.Sprintf(`<path [^>]*data-member="%d"`, id),
			"its address":                 regexp.QuoteMeta(c.node(id).listen),
			"a leave button":              fmt.Sprintf(`data-action="leave" data-id="%d"`, id),
			"a shutdown button":           fmt.Sprintf(`data-action="shutdown" data-id="%d"`, id),
		} {
			if !regexp.MustCompile(re).MatchString(dom) {
				t.Errorf("the rendered dashboard has no %s for node %d (%s)", what, id, re)
			}
		}
	}
	if n := strings.Count(dom, `<span class="pill normal">normal</span>`); n != 3 {
		t.Errorf("the dashboard shows %d members normal, want 3", n)
	}
	if n := strings.Count(dom, `<span class="dot alive"></span>alive`); n != 3 {
		t.Errorf("the dashboard shows %d members alive, want 3", n)
	}
	if t.Failed() {
		t.Fatalf("the rendered DOM:\n%s", dom)
	}

	chromium("--screenshot=" + png)
	if info, err := os.Stat(png); err != nil || info.Size() < 10_000 {
		t.Fatalf("the screenshot %s: %v (want a PNG of 10 kB or more)", png, err)
	}
	t.Logf("dashboard rendered and shot in %v: %s", time.Since(start).Round(time.Millisecond), png)

	// The buttons, clicked through the DevTools protocol: a shutdown of
	// node 3 is confirmed first (cancelled: nothing sent), then needs the
	// admin key (asked for on the 401, asked again when wrong), and with
	// it node 3 stops and the page says so.
	start = time.Now()
	page := startCDP(t, browser, t.TempDir(), url)
	page.waitFor("the three members listed", `document.querySelectorAll("#members tbody tr").length === 3`, 20*time.Second)
	const (
		shutdown3   = `(document.querySelector('button[data-action="shutdown"][data-id="3"]').click(), true)`
		confirmOpen = `document.querySelector("#confirm").open`
		keyOpen     = `document.querySelector("#keydialog").open`
	)
	page.eval(shutdown3)
	page.waitFor("the confirmation shown", confirmOpen, 5*time.Second)
	if got := page.eval(`document.querySelector("#confirm-title").textContent`); got != js("Shut node 3 down?") {
		t.Errorf("the confirmation asks %s, want %q", got, "Shut node 3 down?")
	}
	page.eval(`(document.querySelector('#confirm button[value="cancel"]').click(), true)`)
	page.waitFor("the confirmation closed", "!"+confirmOpen, 5*time.Second)
	select {
	case <-c.node(3).d.done:
		t.Fatalf("node 3 stopped after a cancelled shutdown:\n%s", c.node(3).d.log)
	case <-time.After(300 * time.Millisecond):
	}
	if page.eval(keyOpen) == "true" {
		t.Fatalf("a cancelled shutdown went on to ask for the admin key")
	}

	page.eval(shutdown3)
	page.waitFor("the confirmation shown again", confirmOpen, 5*time.Second)
	page.eval(`(document.querySelector("#confirm-ok").click(), true)`)
	page.waitFor("the admin key asked for after a 401", keyOpen, 10*time.Second)
	useKey := func(key string) {
		page.eval(`(document.querySelector("#key-input").value = ` + js(key) + `, document.querySelector('#keydialog button[value="ok"]').click(), true)`)
	}
	useKey("wrong")
	page.waitFor("the key asked for again after it was refused",
		keyOpen+` && document.querySelector("#key-reason").textContent.includes("refused")`, 10*time.Second)
	useKey("adm-dash")
	page.waitFor("the page saying node 3 stops", `document.querySelector("#banner").textContent === "Node 3 is stopping."`, 20*time.Second)
	c.waitExit(3, time.Now())
	if got := page.eval(`sessionStorage.getItem("memdb.adminKey")`); got != js("adm-dash") {
		t.Errorf("sessionStorage holds the key %s, want the one that worked", got)
	}
	page.waitFor("node 3 shown unreachable", `document.querySelector('tr[data-member="3"]').classList.contains("unreachable")`, 20*time.Second)
	t.Logf("confirmation, admin key and shutdown through the page in %v", time.Since(start).Round(time.Millisecond))
}
