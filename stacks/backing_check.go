package stacks

import (
	"cmp"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

func (b *Backing) checkAndFillDefaults(key string, c *WorkloadsConfig) []FieldError {
	var errs []FieldError
	errs = append(errs, checkName(key+".name", b.Name, maxServiceName)...)
	def, known := EngineDefaults[b.Engine]
	generic := b.Engine == EngineGeneric
	if !known && !generic {
		errs = append(errs, fieldErr(key+".engine", b.Engine, "is not a supported engine", oneOf(EngineMySQL, EnginePostgreSQL, EngineRedis, EngineGeneric)+" (generic: any image, with ports)"))
	}
	if b.Mode == "" {
		b.Mode = BackingInCluster
	}
	if generic {
		errs = append(errs, b.checkGeneric(key)...)
	} else {
		for _, f := range []struct {
			name string
			set  bool
		}{{"ports", len(b.Ports) > 0}, {"command", len(b.Command) > 0}, {"args", len(b.Args) > 0}, {"volume", b.Volume != nil}} {
			if f.set {
				errs = append(errs, fieldErr(key+"."+f.name, nil, "is only for engine \"generic\"", "remove it (engine "+strconv.Quote(b.Engine)+" has its own), or set engine: generic"))
			}
		}
	}
	if b.Port == 0 {
		b.Port = def.Port
	}
	if (b.Port < 1 && (known || b.Port != 0)) || b.Port > 65535 { // an unknown engine has no default to report
		errs = append(errs, fieldErr(key+".port", b.Port, "is not a port", "use 1-65535 (default: the engine's port)"))
	}
	if len(b.Databases) > 0 {
		errs = append(errs, b.checkDatabases(key+".databases")...)
	}
	switch b.Mode {
	case BackingInCluster:
		if b.Host != "" {
			errs = append(errs, fieldErr(key+".host", b.Host, "is only for mode \"external\"", "remove it, or set mode: external"))
		}
		if b.Image == "" && !generic {
			b.Image = def.Image
		}
		if b.Image == "" && generic {
			errs = append(errs, fieldErr(key+".image", nil, "is required for engine \"generic\"", "give the image with a tag, e.g. \"rabbitmq:4.1\""))
		} else if b.Image == "" && !known {
			// an unknown engine has no default image: the engine's problem is reported
		} else if problem := imageProblem(b.Image); problem != "" {
			errs = append(errs, fieldErr(key+".image", b.Image, problem, "use e.g. "+strconv.Quote(cmp.Or(def.Image, "rabbitmq:4.1"))))
		} else {
			errs = append(errs, checkImage(key+".image", b.Image)...) // pinned: no latest
		}
		if b.StorageSize == "" && !generic {
			b.StorageSize = "1Gi"
		}
		if generic && b.StorageSize != "" {
			errs = append(errs, fieldErr(key+".storageSize", b.StorageSize, "is not for engine \"generic\"", "give volume: {size: \"1Gi\", mountPath: /data} instead"))
		} else if !generic && !validQuantity(b.StorageSize) {
			errs = append(errs, fieldErr(key+".storageSize", b.StorageSize, "is not a quantity", "write a size such as \"1Gi\""))
		}
		if b.StorageClass == "" {
			b.StorageClass = c.StorageClass
		} else if !isDNSSubdomain(b.StorageClass) {
			errs = append(errs, fieldErr(key+".storageClass", b.StorageClass, "is not a storage class name", "use lowercase letters, digits, '-' and '.', e.g. \"standard-rwo\" (default: shoestring:storageClass, else the cluster's default)"))
		}
		if b.RunAsUser == 0 {
			b.RunAsUser = 999
		}
		if b.RunAsUser < 0 {
			errs = append(errs, fieldErr(key+".runAsUser", b.RunAsUser, "is not a user id", "use the image's non-root user id (999 in the official images)"))
		}
		errs = append(errs, b.Resources.check(key+".resources")...)
		errs = append(errs, checkEnv(key+".env", b.Env)...)
		errs = append(errs, c.checkSecretEnv(key+".secretEnv", b.Name, b.SecretEnv)...)
	case BackingExternal:
		if b.Host == "" {
			errs = append(errs, fieldErr(key+".host", nil, "is required when mode is \"external\"", "give the database's host name or IP address"))
		} else if net.ParseIP(b.Host) == nil && !isHostname(b.Host) {
			errs = append(errs, fieldErr(key+".host", b.Host, "is neither a host name nor an IP address", "give e.g. \"10.20.0.3\" or \"db.example.com\""))
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"image", b.Image != ""}, {"storageSize", b.StorageSize != ""}, {"storageClass", b.StorageClass != ""}, {"env", len(b.Env) > 0}, {"secretEnv", len(b.SecretEnv) > 0},
			{"databases", len(b.Databases) > 0}, {"command", len(b.Command) > 0}, {"args", len(b.Args) > 0}, {"volume", b.Volume != nil}} {
			if f.set {
				errs = append(errs, fieldErr(key+"."+f.name, nil, "is only for mode \"in-cluster\"", "remove it: an external service's credentials are the services' secretEnv"))
			}
		}
	default:
		errs = append(errs, fieldErr(key+".mode", b.Mode, "is not a backing mode", oneOf(BackingInCluster, BackingExternal)))
	}
	return errs
}

// checkGeneric checks the keys only engine generic has and sets its port to the first of ports.
func (b *Backing) checkGeneric(key string) []FieldError {
	var errs []FieldError
	if b.Port != 0 {
		errs = append(errs, fieldErr(key+".port", b.Port, "is not for engine \"generic\"", "list the ports instead: ports: [{name: amqp, port: 5672}]"))
	}
	if len(b.Ports) == 0 {
		errs = append(errs, fieldErr(key+".ports", nil, "is required for engine \"generic\"", "list at least one port, e.g. ports: [{name: beanstalk, port: 11300}] (waitFor connects to the first)"))
	}
	errs = append(errs, checkPorts(key+".ports", b.Ports)...)
	if len(b.Ports) > 0 {
		b.Port = b.Ports[0].Port
	}
	if v := b.Volume; v != nil {
		if v.Size == "" {
			v.Size = "1Gi"
		}
		if !validQuantity(v.Size) {
			errs = append(errs, fieldErr(key+".volume.size", v.Size, "is not a quantity", "write a size such as \"1Gi\" (the default)"))
		}
		if p := v.MountPath; p == "" {
			errs = append(errs, fieldErr(key+".volume.mountPath", nil, "is required", "give the folder the image keeps its data in, e.g. \"/data\""))
		} else if problem := absPathProblem(p); problem != "" {
			errs = append(errs, fieldErr(key+".volume.mountPath", p, problem, "give an absolute folder such as \"/data\""))
		}
	}
	return errs
}

// databaseNameRe is the database names init scripts create: a name that needs no quoting in either
// SQL dialect's shell script (a pattern: neither MySQL nor PostgreSQL publishes a Go grammar).
var databaseNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (b *Backing) checkDatabases(key string) []FieldError {
	var errs []FieldError
	if b.Engine != EngineMySQL && b.Engine != EnginePostgreSQL {
		return []FieldError{fieldErr(key, strings.Join(b.Databases, ","), "is only for engines \"mysql\" and \"postgresql\"", "remove it; other engines have no databases to create")}
	}
	seen := map[string]bool{}
	for j, d := range b.Databases {
		k := fmt.Sprintf("%s[%d]", key, j)
		switch {
		case !databaseNameRe.MatchString(d):
			errs = append(errs, fieldErr(k, d, "is not a database name this program creates", "use at most 63 lowercase letters, digits and '_', starting with a letter or '_', e.g. \"app_test\""))
		case seen[d]:
			errs = append(errs, fieldErr(k, d, "is listed twice", "list each database once"))
		}
		seen[d] = true
	}
	return errs
}
