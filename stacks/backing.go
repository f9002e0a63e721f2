package stacks

// Backing engines and modes.
const (
	EngineMySQL      = "mysql"
	EnginePostgreSQL = "postgresql"
	EngineRedis      = "redis"
	// EngineGeneric is any image (a queue such as Beanstalkd or RabbitMQ, Memcached ...): image and
	// ports are required, volume optional.
	EngineGeneric = "generic"

	BackingInCluster = "in-cluster"
	BackingExternal  = "external"
)

// Backing is a database or cache reachable inside the namespace at <name>:<port>, whatever the mode:
// in-cluster it is a StatefulSet with a volume; external, the same name points at the outside host
// (an ExternalName Service, or a selector-less Service for an IP). Services use the same host name
// in every environment; only this entry differs.
type Backing struct {
	// Name is the host name services use to reach it.
	Name   string `json:"name"`
	Engine string `json:"engine"` // mysql, postgresql, redis or generic
	Mode   string `json:"mode"`   // in-cluster (default) or external
	// Port is where services connect; default: the engine's. For engine generic use ports instead.
	Port int `json:"port"`

	// Image (in-cluster) defaults to the engine's official image at an exact patch release
	// (mysql:8.4.4, postgres:17.2, redis:7.4.2), so every environment runs the same server; bump
	// it deliberately. Required for generic.
	Image       string `json:"image"`
	StorageSize string `json:"storageSize"` // default 1Gi (not for generic: see volume)
	// StorageClass of the volume (in-cluster); default shoestring:storageClass (itself default "":
	// the cluster's default class).
	StorageClass string `json:"storageClass"`
	// Env is the backing service's ConfigMap, <name>-config (in-cluster).
	Env map[string]string `json:"env"`
	// SecretEnv names variables under shoestring:secrets.<name> (e.g. MYSQL_ROOT_PASSWORD).
	SecretEnv []string `json:"secretEnv"`
	// Resources of the container (in-cluster); none when unset.
	Resources Resources `json:"resources"`
	// RunAsUser is the engine image's non-root user id (999 in the official images; default 999).
	RunAsUser int `json:"runAsUser"`
	// Databases (mysql and postgresql, in-cluster) are created when the data folder is first
	// initialised, by a script the official images run from /docker-entrypoint-initdb.d, and granted
	// to MYSQL_USER / owned by POSTGRES_USER. Names: lowercase letters, digits and '_', starting
	// with a letter or '_', at most 63 characters. Default: none (only MYSQL_DATABASE/POSTGRES_DB).
	Databases []string `json:"databases"`

	// Engine generic only.
	// Ports are the container's and the Service's ports (at least one); the first is the one
	// waitFor connects to.
	Ports []ServicePort `json:"ports"`
	// Command and Args replace the image's entrypoint and command. Default: the image's.
	Command []string `json:"command"`
	Args    []string `json:"args"`
	// Volume is a PersistentVolumeClaim per pod mounted at mountPath. Default: none (no state kept).
	Volume *BackingVolume `json:"volume"`

	// External.
	Host string `json:"host"`
}

// BackingVolume is a generic backing service's persistent volume.
type BackingVolume struct {
	Size      string `json:"size"`      // a quantity, default "1Gi"
	MountPath string `json:"mountPath"` // an absolute path, required
}

// EngineDefaults are each engine's port, official image and container environment for the
// in-cluster mode.
var EngineDefaults = map[string]struct {
	Port  int
	Image string
}{
	EngineMySQL:      {3306, "mysql:8.4.4"},
	EnginePostgreSQL: {5432, "postgres:17.2"},
	EngineRedis:      {6379, "redis:7.4.2"},
}
