package dnssync

import (
	"net/netip"
	"slices"
	"strings"
)

// Existing is a record as the provider has it.
type Existing struct {
	ID      string
	Name    string
	Type    string
	Content string
	TTL     int
	Proxied bool
	Comment string
}

// Settings are the attributes every managed record gets.
type Settings struct {
	TTL     int  // seconds; 1 = automatic
	Proxied bool // through Cloudflare's proxy
	// Owner marks records as ours (see OwnerComment). Two clusters sharing a zone use two owners.
	Owner string
}

// ownerPrefix starts the comment of every record this controller manages.
const ownerPrefix = "managed by shoestring-dnssync, owner="

// OwnerComment is the record comment that marks a record as owned by owner. Cloudflare compares
// comments case-insensitively in filters; owners are compared exactly here.
func OwnerComment(owner string) string { return ownerPrefix + owner }

// Owned reports whether a record carries this owner's mark.
func (s Settings) Owned(e Existing) bool { return e.Comment == OwnerComment(s.Owner) }

// Update changes one owned record in place: its content (the address) and attributes.
type Update struct {
	Existing
	To Record
}

// Plan is what a sync does. Applying it writes only owned records.
type Plan struct {
	Creates []Record
	Updates []Update
	Deletes []Existing
	// Foreign are records at a managed name that another owner (or a person) made: never
	// changed or deleted, only reported. A foreign A/AAAA record whose address is desired
	// counts as present, so it is not duplicated (Cloudflare refuses identical records).
	Foreign []Existing
	// ForeignServed are the desired addresses that only a foreign record serves: if its owner
	// removes it, only a new list shows it, so the controller lists such names again sooner.
	ForeignServed []Record
	// Held is set when nothing qualifies: the plan then keeps every record ("never wipe").
	Held bool
}

// Writes is the number of API writes the plan costs.
func (p Plan) Writes() int { return len(p.Creates) + len(p.Updates) + len(p.Deletes) }

// Empty reports whether the plan writes nothing.
func (p Plan) Empty() bool { return p.Writes() == 0 }

func isAddrType(t string) bool { return t == "A" || t == "AAAA" }

// sameAddr compares record contents as addresses where they parse ("2001:db8::1" equals
// "2001:DB8:0::1"), as strings otherwise.
func sameAddr(a, b string) bool {
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	if errX == nil && errY == nil {
		return x.Unmap() == y.Unmap()
	}
	return strings.EqualFold(a, b)
}

// MakePlan compares the desired records of the managed names with the current records at those
// names. It is pure and deterministic for a given input order of current records:
//
//   - records another owner made are left alone and listed in Foreign;
//   - an owned record whose address is still desired is kept (updated only if its TTL or proxied
//     setting drifted), even when a foreign record has the same address;
//   - a desired address only a foreign record serves is not written (the API refuses identical
//     records) and is listed in ForeignServed;
//   - owned records whose address is no longer desired are reused for missing addresses of the
//     same name and type: one PUT per changed address, never a delete followed by a create;
//   - what is left over is created or deleted;
//   - when desired is empty (no node qualifies) nothing is deleted or changed: Held.
//
// Current records at other names are ignored, so a caller may pass a whole zone.
func MakePlan(desired []Record, current []Existing, names []string, s Settings) Plan {
	var p Plan
	managed := map[string]bool{}
	for _, n := range names {
		managed[CanonicalName(n)] = true
	}
	type key struct{ name, typ string }
	want := map[key][]string{}
	var keys []key
	for _, d := range desired {
		d.Name = CanonicalName(d.Name)
		if !managed[d.Name] || !isAddrType(d.Type) {
			continue
		}
		k := key{d.Name, d.Type}
		if _, seen := want[k]; !seen {
			keys = append(keys, k)
		}
		if !slices.ContainsFunc(want[k], func(c string) bool { return sameAddr(c, d.Content) }) {
			want[k] = append(want[k], d.Content)
		}
	}
	have := map[key][]Existing{}
	for _, e := range current {
		name := CanonicalName(e.Name)
		if !managed[name] {
			continue
		}
		if !s.Owned(e) {
			p.Foreign = append(p.Foreign, e)
			continue
		}
		if !isAddrType(e.Type) {
			continue // ours by mark, but not a kind of record we manage: leave it
		}
		k := key{name, e.Type}
		if _, seen := want[k]; !seen {
			if _, seen := have[k]; !seen {
				keys = append(keys, k)
			}
		}
		have[k] = append(have[k], e)
	}
	if len(want) == 0 {
		p.Held = true
		return p
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.typ, b.typ)
	})
	keys = slices.Compact(keys)
	for _, k := range keys {
		// Owned records serving a desired address are kept (a duplicate of one is stale).
		owned := have[k]
		used := make([]bool, len(owned))
		var unserved []string
		for _, addr := range want[k] {
			i := slices.IndexFunc(owned, func(e Existing) bool { return sameAddr(e.Content, addr) })
			for i >= 0 && used[i] {
				j := slices.IndexFunc(owned[i+1:], func(e Existing) bool { return sameAddr(e.Content, addr) })
				if j < 0 {
					i = -1
				} else {
					i += 1 + j
				}
			}
			if i < 0 {
				unserved = append(unserved, addr)
				continue
			}
			used[i] = true
			// A drift fix is a write too: skipped while another record has the same address
			// (a spare of ours, deleted by this plan, or a foreign one), which it would be
			// refused as identical to; the next sync fixes it.
			if e := owned[i]; (e.TTL != s.TTL || e.Proxied != s.Proxied) && !sharedAddr(e, owned, p.Foreign, k.name) {
				p.Updates = append(p.Updates, Update{Existing: e, To: Record{Name: k.name, Type: k.typ, Content: e.Content}})
			}
		}
		// An address a foreign record serves counts as served: writing it would be refused as an
		// identical record (Cloudflare error 81058).
		var missing []string
		for _, addr := range unserved {
			if slices.ContainsFunc(p.Foreign, func(f Existing) bool {
				return CanonicalName(f.Name) == k.name && f.Type == k.typ && sameAddr(f.Content, addr)
			}) {
				p.ForeignServed = append(p.ForeignServed, Record{Name: k.name, Type: k.typ, Content: addr})
				continue
			}
			missing = append(missing, addr)
		}
		var stale []Existing
		for i, e := range owned {
			if !used[i] {
				stale = append(stale, e)
			}
		}
		for len(stale) > 0 && len(missing) > 0 {
			p.Updates = append(p.Updates, Update{Existing: stale[0], To: Record{Name: k.name, Type: k.typ, Content: missing[0]}})
			stale, missing = stale[1:], missing[1:]
		}
		for _, a := range missing {
			p.Creates = append(p.Creates, Record{Name: k.name, Type: k.typ, Content: a})
		}
		p.Deletes = append(p.Deletes, stale...)
	}
	return p
}

// sharedAddr reports whether another record at e's name and type has e's address.
func sharedAddr(e Existing, owned, foreign []Existing, name string) bool {
	same := func(o Existing) bool {
		return o.ID != e.ID && CanonicalName(o.Name) == name && o.Type == e.Type && sameAddr(o.Content, e.Content)
	}
	return slices.ContainsFunc(owned, same) || slices.ContainsFunc(foreign, same)
}
