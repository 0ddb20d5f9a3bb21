// Tests use their own key prefixes, so fixtures run in parallel against the shared etcd.
[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(4)]
