// Command memdbd runs one memdb node. See CONTRACT.md and `memdbd -h`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/memdb/memdb/host"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stderr)) }

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := host.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %v (see memdbd -h)\n", unwrapUsage(err))
		return 2
	}
	log := cfg.Logger(stderr)
	srv, err := host.Start(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", unwrapUsage(err))
		if errors.Is(err, host.ErrUsage) {
			return 2
		}
		return 1
	}
	log.Info("memdbd ready", "id", cfg.ID, "listen", srv.Addr(), "http", srv.HTTPAddr(), "resp", srv.RESPAddr(), "data", cfg.DataDir, "fsync", cfg.Fsync)

	if srv.TLS() {
		// SIGHUP reads the certificate and key again (a renewed one); only
		// with TLS, so that without it SIGHUP still stops memdbd.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				if err := srv.ReloadTLS(); err != nil {
					log.Error("SIGHUP: the certificate in use stays", "err", err)
				} else {
					log.Info("SIGHUP: reloaded the TLS certificate and key")
				}
			}
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Info("stopping", "signal", s.String())
	case <-srv.Shutdown():
		if err := srv.Fault(); err != nil {
			log.Error("stopping: the node failed", "err", err)
		} else {
			log.Info("stopping", "reason", "admin API")
		}
	}
	signal.Stop(sig)
	if srv.Forced() {
		// A forced stop skips the graceful one, as a crash would: what the
		// log had not synced may be lost, and the log replays at the next
		// start.
		log.Warn("stopped at once (forced through the admin API)")
		return 0
	}
	code := 0
	if err := srv.Fault(); err != nil {
		fmt.Fprintf(stderr, "error: %v (restart memdbd: it replays its log)\n", err)
		code = 1
	}
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "error: stop: %v\n", err)
		return 1
	}
	log.Info("stopped")
	return code
}

// unwrapUsage drops the "usage: " prefix ErrUsage adds; the exit code says it.
func unwrapUsage(err error) string {
	msg := err.Error()
	const p = "usage: "
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}
