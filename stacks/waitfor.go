package stacks

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

func checkWaitFor(key string, targets []string, self string, endpoints map[string]int) []FieldError {
	var errs []FieldError
	for j, t := range targets {
		k := fmt.Sprintf("%s[%d]", key, j)
		if _, err := ParseWaitFor(t, endpoints); err != nil {
			errs = append(errs, fieldErr(k, t, err.Error(), waitForForms))
		} else if t == self {
			errs = append(errs, fieldErr(k, t, "is the service itself: it would never start", "remove it"))
		}
	}
	return errs
}

const waitForForms = `name a backing service or a service with ports, or write "host:port", "http://host[:port]/path" or "cmd: <shell command>" (quoted in YAML)`

// WaitFor is one resolved waitFor entry.
type WaitFor struct {
	Kind    string
	Host    string // tcp and http: the host (names the init container)
	Port    int    // tcp
	URL     string // http
	Command string // command: a shell command line, run with sh -c
}

// waitCommandPrefix starts a waitFor entry that is a command.
const waitCommandPrefix = "cmd:"

// ParseWaitFor resolves a waitFor entry: a name from endpoints (backing services and services with
// ports, at their first port), "host:port", an http:// URL (busybox wget speaks plain HTTP only), or
// "cmd: <shell command>".
func ParseWaitFor(t string, endpoints map[string]int) (WaitFor, error) {
	if rest, ok := strings.CutPrefix(t, waitCommandPrefix); ok {
		cmd := strings.TrimSpace(rest)
		if cmd == "" {
			return WaitFor{}, fmt.Errorf("is an empty command")
		}
		return WaitFor{Kind: WaitCommand, Command: cmd}, nil
	}
	if strings.Contains(t, "://") {
		u, err := url.Parse(t)
		if err != nil || u.Scheme != "http" || u.Host == "" || u.User != nil || u.Fragment != "" {
			return WaitFor{}, fmt.Errorf("is not an http:// URL with a host (https is not supported by the wait-for image's wget)")
		}
		host := u.Hostname()
		if net.ParseIP(host) == nil && !isHostname(host) {
			return WaitFor{}, fmt.Errorf("has an invalid host")
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return WaitFor{}, fmt.Errorf("has an invalid port")
			}
		}
		return WaitFor{Kind: WaitHTTP, Host: host, URL: t}, nil
	}
	host, port, err := WaitTarget(t, endpoints)
	if err != nil {
		return WaitFor{}, err
	}
	return WaitFor{Kind: WaitTCP, Host: host, Port: port}, nil
}

// WaitTarget resolves a TCP waitFor entry to the host and port an init container waits for: a name
// from endpoints (backing services and services with ports, at their first port) or "host:port".
func WaitTarget(t string, endpoints map[string]int) (string, int, error) {
	if port, ok := endpoints[t]; ok {
		return t, port, nil
	}
	host, p, err := net.SplitHostPort(t)
	if err != nil {
		return "", 0, fmt.Errorf("is neither a known backing service or service, host:port, an http:// URL nor a cmd: command")
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || (net.ParseIP(host) == nil && !isHostname(host)) {
		return "", 0, fmt.Errorf("is not a valid host:port")
	}
	return host, port, nil
}
