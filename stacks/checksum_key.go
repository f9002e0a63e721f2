package stacks

// The key of the keyed hashes that stand for secret values in public places: a pod template's
// config-checksum annotation and a release Job's name change when a Secret's value does, so both
// hash it. A plain hash could be checked against guessed values by anyone who reads pod metadata
// or the state; an HMAC under a key of the stack's own cannot.
const (
	ChecksumSecretGroup = "checksum"
	ChecksumKeyName     = "HMAC_KEY"
)

// ChecksumKey is the stack's key for the hashes of secret values; ok is false when no pod reads a
// Secret (nothing is hashed then, and the key need not be set).
func (c *Config) ChecksumKey() (key Secret, ok bool) {
	key, ok = c.Secrets[ChecksumSecretGroup][ChecksumKeyName]
	return key, ok
}

// podsReadSecrets says whether some pod reads a Secret of shoestring:secrets through envFrom: the
// common Secret, a service's or an in-cluster backing service's.
func (c *Config) podsReadSecrets() bool {
	if len(c.CommonSecretEnv) > 0 {
		return true
	}
	for _, s := range c.Services {
		if len(s.SecretEnv) > 0 {
			return true
		}
	}
	for _, b := range c.Backing {
		if b.Mode != BackingExternal && len(b.SecretEnv) > 0 {
			return true
		}
	}
	return false
}

// checkChecksumKey requires the key where secret values are hashed. Local runs generate it like
// any missing secret; a real stack sets it once (bootstrap's initStacks output prints the command).
func (c *Config) checkChecksumKey() []FieldError {
	if !c.podsReadSecrets() {
		return nil
	}
	if _, ok := c.ChecksumKey(); ok {
		return nil
	}
	e := MissingSecret(ChecksumSecretGroup, ChecksumKeyName)
	e.Fix = "set a random key once, e.g. `pulumi config set --secret --path 'secrets." + ChecksumSecretGroup + "." + ChecksumKeyName +
		"' \"$(openssl rand -hex 32)\"`: it keys the hashes of secret values in pod annotations and release Job names"
	return []FieldError{e}
}
