package jitter

import (
	"testing"
	"time"
)

func TestTmpDebug(t *testing.T) {
	pkts := stream(100, 0, 200, 20*ms, nominal(20*ms, 0))
	for i := 100; i < 200; i++ {
		pkts[i].seq += 300
		pkts[i].ts += 300 * 960
		pkts[i].at += 6 * time.Second
	}
	b := mustNew(t, DefaultConfig())
	r := simulate(t, b, pkts, 10*ms, 20*ms, 200*20*ms+7*time.Second)
	for _, e := range r.events {
		if e.at > 1900*ms && e.at < 2100*ms || e.at > 7950*ms && e.at < 8200*ms {
			t.Logf("%v %v seq=%d next=%d delay=%v", e.at, e.status, e.seq, e.next, e.delay)
		}
	}
	t.Logf("%+v", r.stats)
}
