package dnssync

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const name = "k.example.com"

var ours = Settings{TTL: 120, Owner: "c1"}

func own(id, typ, content string) Existing {
	return Existing{ID: id, Name: name, Type: typ, Content: content, TTL: 120, Comment: OwnerComment("c1")}
}

func want(typ string, contents ...string) []Record {
	var out []Record
	for _, c := range contents {
		out = append(out, Record{Name: name, Type: typ, Content: c})
	}
	return out
}

func TestMakePlan(t *testing.T) {
	foreignA := Existing{ID: "f1", Name: name, Type: "A", Content: "198.51.100.9", TTL: 1, Comment: "hand-made"}
	otherOwner := Existing{ID: "f2", Name: name, Type: "A", Content: "198.51.100.8", TTL: 120, Comment: OwnerComment("c2")}
	tests := []struct {
		name    string
		desired []Record
		current []Existing
		want    Plan
	}{
		{"empty zone: create all", want("A", "192.0.2.1", "192.0.2.2"), nil,
			Plan{Creates: want("A", "192.0.2.1", "192.0.2.2")}},
		{"in sync: nothing", want("A", "192.0.2.1"), []Existing{own("r1", "A", "192.0.2.1")}, Plan{}},
		{"one IP replaced: one update in place, no delete+create", want("A", "192.0.2.1", "192.0.2.3"),
			[]Existing{own("r1", "A", "192.0.2.1"), own("r2", "A", "192.0.2.2")},
			Plan{Updates: []Update{{Existing: own("r2", "A", "192.0.2.2"), To: want("A", "192.0.2.3")[0]}}}},
		{"node gone: delete its record", want("A", "192.0.2.1"),
			[]Existing{own("r1", "A", "192.0.2.1"), own("r2", "A", "192.0.2.2")},
			Plan{Deletes: []Existing{own("r2", "A", "192.0.2.2")}}},
		{"no node qualifies: held, nothing deleted", nil,
			[]Existing{own("r1", "A", "192.0.2.1"), foreignA},
			Plan{Held: true, Foreign: []Existing{foreignA}}},
		{"foreign records are never touched, and reported", want("A", "192.0.2.1"),
			[]Existing{foreignA, otherOwner},
			Plan{Creates: want("A", "192.0.2.1"), Foreign: []Existing{foreignA, otherOwner}}},
		{"a foreign record with a desired address counts as present", want("A", "198.51.100.9"),
			[]Existing{foreignA}, Plan{Foreign: []Existing{foreignA}, ForeignServed: want("A", "198.51.100.9")}},
		{"a node takes an address a foreign record serves: no identical write, our old record goes",
			want("A", "192.0.2.1", "198.51.100.9"),
			[]Existing{own("r1", "A", "192.0.2.1"), own("r2", "A", "192.0.2.2"), foreignA},
			Plan{Deletes: []Existing{own("r2", "A", "192.0.2.2")}, Foreign: []Existing{foreignA}, ForeignServed: want("A", "198.51.100.9")}},
		{"an address both we and a foreign record serve: ours is kept", want("A", "198.51.100.9"),
			[]Existing{own("r1", "A", "198.51.100.9"), foreignA}, Plan{Foreign: []Existing{foreignA}}},
		{"AAAA of a foreign record compared as an address", want("AAAA", "2001:db8::1"),
			[]Existing{{ID: "f6", Name: name, Type: "AAAA", Content: "2001:DB8:0::1", TTL: 1}},
			Plan{Foreign: []Existing{{ID: "f6", Name: name, Type: "AAAA", Content: "2001:DB8:0::1", TTL: 1}}, ForeignServed: want("AAAA", "2001:db8::1")}},
		{"a foreign CNAME at the name is reported, not deleted", want("A", "192.0.2.1"),
			[]Existing{{ID: "c", Name: name, Type: "CNAME", Content: "elsewhere.example.net"}},
			Plan{Creates: want("A", "192.0.2.1"), Foreign: []Existing{{ID: "c", Name: name, Type: "CNAME", Content: "elsewhere.example.net"}}}},
		{"IPv6 gives AAAA", append(want("A", "192.0.2.1"), want("AAAA", "2001:db8::1")...), []Existing{own("r1", "A", "192.0.2.1")},
			Plan{Creates: want("AAAA", "2001:db8::1")}},
		{"AAAA content compared as addresses", want("AAAA", "2001:db8::1"), []Existing{own("r1", "AAAA", "2001:DB8:0::1")}, Plan{}},
		{"last AAAA address gone while A remains: AAAA deleted", want("A", "192.0.2.1"),
			[]Existing{own("r1", "A", "192.0.2.1"), own("r2", "AAAA", "2001:db8::1")},
			Plan{Deletes: []Existing{own("r2", "AAAA", "2001:db8::1")}}},
		{"TTL drift: updated in place", want("A", "192.0.2.1"),
			[]Existing{{ID: "r1", Name: name, Type: "A", Content: "192.0.2.1", TTL: 300, Comment: OwnerComment("c1")}},
			Plan{Updates: []Update{{Existing: Existing{ID: "r1", Name: name, Type: "A", Content: "192.0.2.1", TTL: 300, Comment: OwnerComment("c1")}, To: want("A", "192.0.2.1")[0]}}}},
		{"duplicate owned records: the spare one is deleted", want("A", "192.0.2.1"),
			[]Existing{own("r1", "A", "192.0.2.1"), own("r2", "A", "192.0.2.1")},
			Plan{Deletes: []Existing{own("r2", "A", "192.0.2.1")}}},
		{"records at other names are ignored", want("A", "192.0.2.1"),
			[]Existing{{ID: "x", Name: "other.example.com", Type: "A", Content: "192.0.2.9", Comment: OwnerComment("c1")}},
			Plan{Creates: want("A", "192.0.2.1")}},
		{"names compare case-insensitively, trailing dot ignored",
			[]Record{{Name: "K.Example.com.", Type: "A", Content: "192.0.2.1"}}, []Existing{own("r1", "A", "192.0.2.1")}, Plan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MakePlan(tt.desired, tt.current, []string{name}, ours)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestWritesPerChangedIP(t *testing.T) {
	// Three nodes, each of whose IPs changes: exactly three writes, all updates.
	cur := []Existing{own("1", "A", "192.0.2.1"), own("2", "A", "192.0.2.2"), own("3", "A", "192.0.2.3")}
	p := MakePlan(want("A", "192.0.2.11", "192.0.2.12", "192.0.2.13"), cur, []string{name}, ours)
	assert.Equal(t, 3, p.Writes())
	assert.Len(t, p.Updates, 3)
}

// apply plays a plan against current records the way the controller does.
func apply(p Plan, current []Existing, s Settings) []Existing {
	state := append([]Existing(nil), current...)
	for _, u := range p.Updates {
		for i := range state {
			if state[i].ID == u.ID {
				state[i] = Existing{ID: u.ID, Name: u.To.Name, Type: u.To.Type, Content: u.To.Content, TTL: s.TTL, Proxied: s.Proxied, Comment: OwnerComment(s.Owner)}
			}
		}
	}
	for i, c := range p.Creates {
		state = append(state, Existing{ID: fmt.Sprintf("new%d", i), Name: c.Name, Type: c.Type, Content: c.Content, TTL: s.TTL, Proxied: s.Proxied, Comment: OwnerComment(s.Owner)})
	}
	for _, d := range p.Deletes {
		state = slices.DeleteFunc(state, func(e Existing) bool { return e.ID == d.ID })
	}
	return state
}

func addrSet(rs []Existing, typ string) []string {
	var out []string
	for _, r := range rs {
		if r.Type == typ && CanonicalName(r.Name) == name {
			a, err := netip.ParseAddr(r.Content)
			if err == nil {
				out = append(out, a.String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkPlan states the plan's invariants for any input.
func checkPlan(t *testing.T, desired []Record, current []Existing, s Settings) {
	p := MakePlan(desired, current, []string{name}, s)
	byID := map[string]Existing{}
	for _, e := range current {
		byID[e.ID] = e
	}
	for _, u := range p.Updates {
		require.True(t, s.Owned(byID[u.ID]), "update of a foreign record %+v", u.Existing)
	}
	for _, d := range p.Deletes {
		require.True(t, s.Owned(byID[d.ID]), "delete of a foreign record %+v", d)
	}
	// No write the API refuses as identical: the controller writes updates, then creates, then
	// deletes; no write may give a record the type and address of another one still there.
	state := append([]Existing(nil), current...)
	identical := func(id, typ, content string) bool {
		return slices.ContainsFunc(state, func(e Existing) bool {
			return e.ID != id && CanonicalName(e.Name) == name && e.Type == typ && sameAddr(e.Content, content)
		})
	}
	for _, u := range p.Updates {
		require.False(t, identical(u.ID, u.To.Type, u.To.Content), "update %+v would be refused as identical", u)
		state = apply(Plan{Updates: []Update{u}}, state, s)
	}
	for _, c := range p.Creates {
		require.False(t, identical("", c.Type, c.Content), "create %+v would be refused as identical", c)
		state = apply(Plan{Creates: []Record{c}}, state, s)
	}
	after := apply(p, current, s)
	for _, e := range current {
		if !s.Owned(e) {
			require.Contains(t, after, e, "foreign record changed or removed")
		}
	}
	if len(desired) == 0 {
		require.True(t, p.Held)
		require.Zero(t, p.Writes(), "a plan without desired records must not write")
		return
	}
	// After applying, each type's addresses at the name are exactly the desired ones (foreign
	// records with other addresses aside), and a second plan is empty.
	var foreignOnly []Existing
	for _, e := range after {
		if !s.Owned(e) {
			foreignOnly = append(foreignOnly, e)
		}
	}
	for _, typ := range []string{"A", "AAAA"} {
		var wantAddrs []string
		for _, d := range desired {
			if d.Type == typ {
				wantAddrs = append(wantAddrs, netip.MustParseAddr(d.Content).String())
			}
		}
		slices.Sort(wantAddrs)
		wantAddrs = slices.Compact(wantAddrs)
		got := addrSet(after, typ)
		extra := slices.DeleteFunc(slices.Clone(got), func(a string) bool { return slices.Contains(wantAddrs, a) })
		for _, a := range extra {
			require.Contains(t, addrSet(foreignOnly, typ), a, "address %s left behind that nobody wants", a)
		}
		for _, a := range wantAddrs {
			require.Contains(t, got, a, "desired %s %s missing after apply", typ, a)
		}
	}
	// A second plan only fixes drift it held back while a spare or foreign record shared the address.
	again := MakePlan(desired, after, []string{name}, s)
	require.Empty(t, again.Creates, "plan is not idempotent")
	require.Empty(t, again.Deletes, "plan is not idempotent")
	for _, u := range again.Updates {
		require.True(t, sameAddr(u.Content, u.To.Content), "plan is not idempotent: %+v", u)
	}
	require.Zero(t, MakePlan(desired, apply(again, after, s), []string{name}, s).Writes(), "plan is not idempotent")
	// Minimal writes: per type, no more than max(missing, stale) address writes plus drift fixes.
	require.LessOrEqual(t, len(p.Creates)+len(p.Updates)+len(p.Deletes), len(current)+len(desired))
}

// FuzzMakePlan decodes bytes into a desired address set and current records (owned, foreign,
// drifted) and checks the invariants. Seeds run with `go test`; `go test -fuzz FuzzMakePlan`
// explores further.
func FuzzMakePlan(f *testing.F) {
	f.Add([]byte{0, 1, 2}, []byte{0x01, 0x12, 0x23})
	f.Add([]byte{}, []byte{0x01, 0x02})
	f.Add([]byte{1, 9, 200}, []byte{0x81, 0x91, 0x45, 0xc1})
	f.Add([]byte{3, 3, 130}, []byte{0x33, 0x33, 0xb3})
	f.Fuzz(func(t *testing.T, want []byte, have []byte) {
		addr := func(b byte) (string, string) {
			if b&0x80 != 0 {
				return "AAAA", fmt.Sprintf("2001:db8::%x", b&0x0f)
			}
			return "A", fmt.Sprintf("192.0.2.%d", b&0x0f)
		}
		var desired []Record
		for _, b := range want {
			typ, c := addr(b)
			desired = append(desired, Record{Name: name, Type: typ, Content: c})
		}
		var current []Existing
		for i, b := range have {
			typ, c := addr(b)
			e := Existing{ID: fmt.Sprint(i), Name: name, Type: typ, Content: c, TTL: 120, Comment: OwnerComment("c1")}
			switch (b >> 4) & 0x07 {
			case 1:
				e.Comment = "hand-made"
			case 2:
				e.Comment = OwnerComment("c2")
			case 3:
				e.TTL = 1
			case 4:
				e.Name = strings.ToUpper(name)
			case 5:
				e.Type, e.Content = "CNAME", "target.example.net"
				e.Comment = ""
			}
			current = append(current, e)
		}
		checkPlan(t, desired, current, ours)
	})
}
