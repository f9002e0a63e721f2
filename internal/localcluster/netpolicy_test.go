package localcluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueueBoundReadsTheQueueNumbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nfnetlink_queue")
	assert.False(t, queueBound(path, 100), "no listing: no namespace, no queue")
	// The kernel's format: queue number, peer port id, queued, copy mode, copy range, dropped,
	// user dropped, last id, 1.
	require.NoError(t, os.WriteFile(path, []byte("  101  41852     0 2   128     0     0        0  1\n"), 0o600))
	assert.False(t, queueBound(path, 100), "another queue is bound")
	require.NoError(t, os.WriteFile(path, []byte("  101  41852     0 2   128     0     0        0  1\n  100  41851     0 2   128     0     0       17  1\n"), 0o600))
	assert.True(t, queueBound(path, 100))
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	assert.False(t, queueBound(path, 100), "an empty listing: nothing reads a queue")
}
