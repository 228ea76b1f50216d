package main

import (
	"math"
	"testing"
)

// A `perf script -F period,ip,sym,dso` listing (periods in ns): libopus
// under the room tick, a socket write from our transport with the kernel
// under it, the scheduler sleeping in futex, a softirq with no user stack,
// and room code.
const perfFixture = `mcu 30376    500000000 
	           18e79 [unknown] (/usr/lib/x86_64-linux-gnu/libopus.so.0.8.0)
	          8c68c6 _cgo_e01689495b02_Cfunc_opus_encode (/tmp/mcu)
	           8e035 runtime.cgocall (/tmp/mcu)
	          1b840d github.com/mcu-project/mcu/room.(*Room).tick (/tmp/mcu)

   200000000 
	ffffffff8a2b1c10 __sys_sendto+0x10 ([kernel.kallsyms])
	          3c78b syscall.sendto (/tmp/mcu)
	          1b840d github.com/mcu-project/mcu/transport.(*RTPLeg).WriteAudio (/tmp/mcu)
	          1b840d github.com/mcu-project/mcu/room.(*Room).tick (/tmp/mcu)

   1500000000 
	ffffffff8a2b1c10 finish_task_switch.isra.0 ([kernel.kallsyms])
	           99021 runtime.futex.abi0 (/tmp/mcu)
	           99021 runtime.findRunnable (/tmp/mcu)
	           99021 runtime.mcall (/tmp/mcu)

   100000000 
	ffffffff8a2b1c10 __netif_receive_skb ([kernel.kallsyms])
	ffffffff8a2b1c10 net_rx_action ([kernel.kallsyms])

   50000000 
	          1b7e56 github.com/mcu-project/mcu/room.(*Room).run (/tmp/mcu)
	               0 [unknown] ([unknown])
`

func TestSplitPerfScriptByWhatTheStackDid(t *testing.T) {
	split, err := splitPerfScript(perfFixture, 10)
	if err != nil {
		t.Fatal(err)
	}
	// CPU-seconds per second of the 10 s recording.
	want := map[string]float64{"audio codecs": 0.05, "packet path": 0.02, "Go runtime": 0.15, "kernel alone": 0.01, "the rest": 0.005}
	for i, v := range split.parts {
		name := "the rest"
		if i < len(parts) {
			name = parts[i].name
		}
		if math.Abs(v-want[name]) > 1e-9 {
			t.Errorf("%s: %.4f CPU-s/s, want %.4f", name, v, want[name])
		}
	}
	if math.Abs(split.kernel-0.18) > 1e-9 {
		t.Errorf("in the kernel: %.4f CPU-s/s, want 0.18 (the send, the futex, the softirq)", split.kernel)
	}
	if math.Abs(split.codecs()-0.05) > 1e-9 {
		t.Errorf("codec calls: %.4f CPU-s/s, want 0.05", split.codecs())
	}
	if _, err := splitPerfScript("", 10); err == nil {
		t.Error("a recording without samples split without an error")
	}
}
