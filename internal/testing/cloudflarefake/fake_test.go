package cloudflarefake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type answer struct {
	Success bool         `json:"success"`
	Errors  []apiMessage `json:"errors"`
	Result  Record       `json:"result"`
}

func call(t *testing.T, s *Server, method, path string, body any) (int, answer) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer tok")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out answer
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

// The real API refuses a record of the same name, type and content as another one with 400 and
// error 81058, whatever the TTL or comment; the double must too, for creates and overwrites.
func TestIdenticalRecordRefused(t *testing.T) {
	s := New("tok")
	defer s.Close()
	zone := s.AddZone("example.com")
	base := "zones/" + zone + "/dns_records"
	rec := func(content string, ttl int, comment string) map[string]any {
		return map[string]any{"name": "k.example.com", "type": "A", "content": content, "ttl": ttl, "comment": comment}
	}
	st, first := call(t, s, http.MethodPost, base, rec("192.0.2.1", 120, "ours"))
	require.Equal(t, http.StatusOK, st)

	st, ans := call(t, s, http.MethodPost, base, rec("192.0.2.1", 300, "someone else"))
	assert.Equal(t, http.StatusBadRequest, st)
	require.Len(t, ans.Errors, 1)
	assert.Equal(t, 81058, ans.Errors[0].Code)
	assert.Equal(t, "An identical record already exists.", ans.Errors[0].Message)

	st, second := call(t, s, http.MethodPost, base, rec("192.0.2.2", 120, "ours"))
	require.Equal(t, http.StatusOK, st)
	st, ans = call(t, s, http.MethodPut, base+"/"+second.Result.ID, rec("192.0.2.1", 120, "ours"))
	assert.Equal(t, http.StatusBadRequest, st, "an overwrite to another record's content")
	assert.Equal(t, 81058, ans.Errors[0].Code)

	// Changing a record's own TTL is not identical to itself.
	st, _ = call(t, s, http.MethodPut, base+"/"+first.Result.ID, rec("192.0.2.1", 300, "ours"))
	assert.Equal(t, http.StatusOK, st)

	// AAAA contents compare as addresses.
	aaaa := func(content string) map[string]any {
		return map[string]any{"name": "k.example.com", "type": "AAAA", "content": content, "ttl": 1}
	}
	st, _ = call(t, s, http.MethodPost, base, aaaa("2001:db8::1"))
	require.Equal(t, http.StatusOK, st)
	st, ans = call(t, s, http.MethodPost, base, aaaa("2001:DB8:0::1"))
	assert.Equal(t, http.StatusBadRequest, st)
	assert.Equal(t, 81058, ans.Errors[0].Code)
	assert.Len(t, s.Records(zone), 3)
}
