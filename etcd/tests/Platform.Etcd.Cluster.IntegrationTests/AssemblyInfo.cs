// Each test runs three or more etcd processes; on a 2-vCPU machine more than two clusters at once
// starve each other's raft loops and turn deadlines into noise.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
