package stacks

// The sections below are filled in by the workloads, edge, DNS-sync and dev-tooling work.

type WorkloadsConfig struct{}

func (c *WorkloadsConfig) defaults()                  {}
func (c *WorkloadsConfig) check(*Config) []FieldError { return nil }

type EdgeConfig struct{}

func (c *EdgeConfig) defaults()                  {}
func (c *EdgeConfig) check(*Config) []FieldError { return nil }

type DNSConfig struct{}

func (c *DNSConfig) defaults()                  {}
func (c *DNSConfig) check(*Config) []FieldError { return nil }

type DevConfig struct{}

func (c *DevConfig) defaults()                  {}
func (c *DevConfig) check(*Config) []FieldError { return nil }
