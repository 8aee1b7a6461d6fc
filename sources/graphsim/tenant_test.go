package graphsim

import "testing"

func TestIDs_RoundTrip(t *testing.T) {
	o := Options{Users: 100000, Seed: 3}
	o.defaults()
	tn := newTenant(&o)
	for _, i := range []int{0, 1, 2, 49999, 99999} {
		if got, ok := tn.userIndex(tn.UserID(i)); !ok || got != i {
			t.Fatalf("userIndex(UserID(%d)) = %d, %v", i, got, ok)
		}
	}
	if _, ok := tn.userIndex("00000000-0000-4000-8000-000000000000"); ok {
		t.Fatal("a made-up id resolved")
	}
	id := []byte(tn.UserID(5))
	id[3] ^= 1
	if _, ok := tn.userIndex(string(id)); ok {
		t.Fatal("an altered id resolved")
	}
	for x := uint32(0); x < 1<<20; x += 4099 {
		if tn.unperm(tn.perm(x)) != x {
			t.Fatalf("unperm(perm(%d)) != %d", x, x)
		}
	}
	for team := 0; team < 5; team++ {
		for ch := 0; ch < tn.channels(team); ch++ {
			if got, ok := tn.channelIndex(team, tn.ChannelID(team, ch)); !ok || got != ch {
				t.Fatalf("channelIndex(ChannelID(%d, %d)) = %d, %v", team, ch, got, ok)
			}
		}
	}
}
