package stacks

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // CronJob time zones are checked the same way on every machine

	"github.com/distribution/reference"
	"github.com/robfig/cron/v3"
	"golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The grammars configuration values follow, each checked by the library that defines it:
// Kubernetes names with k8s.io/apimachinery's validation (what the apiserver runs), image
// references with github.com/distribution/reference (what container runtimes parse), cron
// schedules with github.com/robfig/cron/v3 (what the CronJob controller parses) and SSH keys with
// golang.org/x/crypto/ssh. The functions here only say yes or no (or what the library found
// wrong); each caller words its FieldError with the key, the value and what is accepted.

// isDNSLabel: a namespace, Service or Deployment name (RFC 1123 label, at most 63 characters).
func isDNSLabel(s string) bool { return len(validation.IsDNS1123Label(s)) == 0 }

// isDNSSubdomain: a Secret or ConfigMap name (RFC 1123 subdomain, at most 253 characters).
func isDNSSubdomain(s string) bool { return len(validation.IsDNS1123Subdomain(s)) == 0 }

// isGCEName: a GCE resource name or network tag (RFC 1035 label), at most max characters.
func isGCEName(s string, max int) bool {
	return len(s) <= max && len(validation.IsDNS1035Label(s)) == 0
}

// isEnvVarName: what Kubernetes accepts as an environment variable name (also the keys of the
// ConfigMaps the variables come from).
func isEnvVarName(s string) bool { return len(validation.IsEnvVarName(s)) == 0 }

// isPortName: a container port name (IANA service name: at most 15 characters, a letter, no "--").
func isPortName(s string) bool { return len(validation.IsValidPortName(s)) == 0 }

// isSecretKey: a key of a Secret's data (also the file name it becomes in a volume).
func isSecretKey(s string) bool { return len(validation.IsConfigMapKey(s)) == 0 }

// isHostname: a DNS name in any case, with an optional trailing dot; one label is enough (a
// Service of another namespace, "db.other", is a host name too).
func isHostname(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if !isDNSSubdomain(h) {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !isDNSLabel(l) {
			return false
		}
	}
	return true
}

// isHTTPURL: an absolute http or https URL with a host and no white space.
func isHTTPURL(s string) bool {
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// isServerAddress: an IP address or host name with an optional port, IPv6 in brackets
// ("10.0.0.10", "dns.internal:5353", "[fd00::a]:53"): how nginx's resolver names a DNS server.
func isServerAddress(s string) bool {
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return false
		}
		host = h
		if strings.HasPrefix(s, "[") {
			a, err := netip.ParseAddr(h)
			return err == nil && a.Is6()
		}
	} else if inner, ok := strings.CutPrefix(s, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		a, err := netip.ParseAddr(inner)
		return ok && err == nil && a.Is6()
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Is4()
	}
	return isHostname(host)
}

// imageProblem is what is wrong with an image reference, or "". It is parsed the way container
// runtimes do ("busybox:1.37" is docker.io/library/busybox:1.37), and the library's error says
// what is wrong, e.g. "repository name must be lowercase".
func imageProblem(image string) string {
	if _, err := reference.ParseNormalizedNamed(image); err != nil {
		return "is not an image reference (" + err.Error() + ")"
	}
	return ""
}

// cronFieldNames name the five fields of a standard schedule, in order.
var cronFieldNames = []string{"minute", "hour", "day of month", "month", "day of week"}

// CheckSchedule returns what is wrong with a CronJob schedule, or "" when Kubernetes accepts it.
// The apiserver validates schedules with robfig/cron's standard parser and refuses a time zone
// inside the schedule (anything containing "TZ"); this does the same, so a typo fails at preview
// instead of at `pulumi up`. For five fields it also names the field the parser refused.
func CheckSchedule(s string) string {
	if s == "" {
		return "is required"
	}
	// Checked first: robfig/cron reads "TZ=..." itself, and the apiserver refuses it for batch/v1.
	if strings.Contains(s, "TZ") {
		return "sets a time zone inside the schedule, which Kubernetes refuses; use the timeZone field"
	}
	_, err := cron.ParseStandard(s)
	if err == nil {
		return ""
	}
	if fields := strings.Fields(s); len(fields) == 5 && !strings.HasPrefix(s, "@") {
		for i, f := range fields {
			alone := []string{"*", "*", "*", "*", "*"}
			alone[i] = f
			if _, ferr := cron.ParseStandard(strings.Join(alone, " ")); ferr != nil {
				return fmt.Sprintf("has an invalid %s %q: %v", cronFieldNames[i], f, ferr)
			}
		}
	}
	return "is not a schedule Kubernetes accepts: " + err.Error()
}

// timeZoneProblem is what is wrong with a CronJob's timeZone, or "": like the apiserver, an IANA
// name from the time zone database, and not "Local" (the controller's own zone would vary).
func timeZoneProblem(tz string) string {
	if strings.EqualFold(tz, "Local") {
		return "is not an explicit IANA time zone"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return "is not an IANA time zone"
	}
	return ""
}

// sshKeyTypes are the public key types the dev-mode sidecar's OpenSSH accepts for logins.
var sshKeyTypes = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256,
}

// sshPublicKeyProblem is what is wrong with one authorized_keys line, or "". The key is parsed
// (type, base64 and the key inside it), not only matched by shape.
func sshPublicKeyProblem(line string) string {
	line = strings.TrimSpace(line)
	if strings.ContainsAny(line, "\r\n") {
		return "is more than one line"
	}
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "is not an SSH public key (" + strings.TrimPrefix(err.Error(), "ssh: ") + ")"
	}
	if len(options) > 0 {
		return "starts with authorized_keys options (" + strings.Join(options, ",") + ")"
	}
	if !slices.Contains(sshKeyTypes, key.Type()) {
		return "is a " + key.Type() + " key, which the sidecar's OpenSSH does not accept"
	}
	return ""
}

// GCP location names have no library grammar (the APIs only list the ones that exist): a region is
// <area>-<direction><n> (us-central1, europe-west4), a zone its region and one letter
// (us-central1-a). One pattern each, used by stacks and bootstrap.
var (
	gcpZoneRe   = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+-[a-z]$`)
	gcpRegionRe = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+$`)
)

// IsGCPZone says whether s is written as a GCP zone ("us-central1-a").
func IsGCPZone(s string) bool { return gcpZoneRe.MatchString(s) }

// IsGCPRegion says whether s is written as a GCP region ("us-central1").
func IsGCPRegion(s string) bool { return gcpRegionRe.MatchString(s) }

// IsGKEClusterName says whether GKE accepts s as a cluster name: an RFC 1035 label of at most 40
// characters.
func IsGKEClusterName(s string) bool { return isGCEName(s, maxGKEClusterName) }
