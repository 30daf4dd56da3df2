// The real peer for raft/bench: the same workload as Platform.Raft.Benchmarks, on etcd-io/raft
// as Debian packages it (go.etcd.io/etcd/raft from golang-etcd-server-dev, etcd 3.4). Our own
// program; it only uses etcd's library. Built in GOPATH mode by raft/bench/run.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"go.etcd.io/etcd/raft"
	pb "go.etcd.io/etcd/raft/raftpb"
)

type cluster struct {
	nodes     []*raft.RawNode
	storages  []*raft.MemoryStorage
	mailbox   []pb.Message
	committed int64
}

func newCluster(count int) *cluster {
	c := &cluster{}
	peers := make([]raft.Peer, count)
	for i := range peers {
		peers[i] = raft.Peer{ID: uint64(i + 1)}
	}
	for i := 0; i < count; i++ {
		s := raft.NewMemoryStorage()
		rn, err := raft.NewRawNode(&raft.Config{
			ID:              uint64(i + 1),
			ElectionTick:    10,
			HeartbeatTick:   1,
			Storage:         s,
			MaxSizePerMsg:   1024 * 1024,
			MaxInflightMsgs: 256,
			Logger:          discard{},
		})
		if err != nil {
			panic(err)
		}
		if err := rn.Bootstrap(peers); err != nil {
			panic(err)
		}
		c.nodes = append(c.nodes, rn)
		c.storages = append(c.storages, s)
	}
	// Apply the bootstrap configuration first: raft refuses to campaign with it pending.
	for c.pending() {
		c.process(false)
	}
	c.nodes[0].Campaign()
	for c.pending() {
		c.process(false)
	}
	if c.nodes[0].Status().RaftState != raft.StateLeader {
		panic("node 1 did not become leader")
	}
	c.committed = 0
	return c
}

func (c *cluster) pending() bool {
	if len(c.mailbox) > 0 {
		return true
	}
	for _, n := range c.nodes {
		if n.HasReady() {
			return true
		}
	}
	return false
}

func (c *cluster) process(fsync bool) {
	synced := false
	for i, n := range c.nodes {
		if !n.HasReady() {
			continue
		}
		rd := n.Ready()
		if len(rd.Entries) > 0 {
			c.storages[i].Append(rd.Entries)
		}
		if !raft.IsEmptyHardState(rd.HardState) {
			c.storages[i].SetHardState(rd.HardState)
		}
		synced = synced || rd.MustSync
		c.mailbox = append(c.mailbox, rd.Messages...)
		if i == 0 {
			for _, e := range rd.CommittedEntries {
				if e.Type == pb.EntryNormal && len(e.Data) > 0 {
					c.committed++
				}
			}
		}
		n.Advance(rd)
	}
	if fsync && synced {
		// A busy 1 ms, as on the C# side: sleep granularity differs between runtimes.
		for t0 := time.Now(); time.Since(t0) < time.Millisecond; {
		}
	}
	batch := c.mailbox
	c.mailbox = nil
	for _, m := range batch {
		c.nodes[m.To-1].Step(m)
	}
}

func (c *cluster) round(payload []byte, batch int, fsync bool) {
	for i := 0; i < batch; i++ {
		c.nodes[0].Propose(payload)
	}
	for c.pending() {
		c.process(fsync)
	}
}

func run(nodes, batch int, fsync bool, d time.Duration) {
	c := newCluster(nodes)
	payload := make([]byte, 16)
	for i := 0; i < 200; i++ {
		c.round(payload, batch, false)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := c.committed
	t0 := time.Now()
	for time.Since(t0) < d {
		c.round(payload, batch, fsync)
	}
	elapsed := time.Since(t0)
	runtime.ReadMemStats(&after)
	entries := c.committed - start
	fs := "none"
	if fsync {
		fs = "1ms"
	}
	fmt.Printf("%-14s %5d %6d %6s %12s %12.1f\n", "etcd-raft-3.4", nodes, batch, fs,
		thousands(float64(entries)/elapsed.Seconds()), float64(after.TotalAlloc-before.TotalAlloc)/float64(entries))
}

func thousands(v float64) string {
	s := strconv.FormatInt(int64(v), 10)
	out := ""
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(r)
	}
	return out
}

type discard struct{}

func (discard) Debug(v ...interface{})                   {}
func (discard) Debugf(format string, v ...interface{})   {}
func (discard) Error(v ...interface{})                   {}
func (discard) Errorf(format string, v ...interface{})   {}
func (discard) Info(v ...interface{})                    {}
func (discard) Infof(format string, v ...interface{})    {}
func (discard) Warning(v ...interface{})                 {}
func (discard) Warningf(format string, v ...interface{}) {}
func (discard) Fatal(v ...interface{})                   { fmt.Println(v...); os.Exit(1) }
func (discard) Fatalf(format string, v ...interface{})   { fmt.Printf(format, v...); os.Exit(1) }
func (discard) Panic(v ...interface{})                   { panic(fmt.Sprint(v...)) }
func (discard) Panicf(format string, v ...interface{})   { panic(fmt.Sprintf(format, v...)) }

func main() {
	seconds := 3
	if len(os.Args) > 1 {
		seconds, _ = strconv.Atoi(os.Args[1])
	}
	cases := []struct {
		nodes, batch int
		fsync        bool
	}{{1, 1, false}, {1, 64, false}, {1, 1024, false}, {3, 64, false}, {3, 1024, false}, {1, 1024, true}, {3, 1024, true}}
	for _, k := range cases {
		run(k.nodes, k.batch, k.fsync, time.Duration(seconds)*time.Second)
	}
}
