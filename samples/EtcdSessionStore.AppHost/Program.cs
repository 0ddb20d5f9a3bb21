// The demo shop as an Aspire app host: a 3-member etcd cluster (the etcd binary on the machine, no container engine)
// and two shop instances that share it, with their logs, traces and metrics on Aspire's dashboard.
var builder = DistributedApplication.CreateBuilder(args);

// [apphost]
var etcd = builder.AddEtcd("etcd")
    .WithMembers(3);

var shopA = builder.AddProject<Projects.EtcdSessionStore_Demo>("shop-a")
    .WithHttpEndpoint()
    .WithHttpHealthCheck("/health")
    .WithReference(etcd)
    .WaitFor(etcd);

// After the first: the first instance creates the shared Data Protection key in etcd, the second reads it.
var shopB = builder.AddProject<Projects.EtcdSessionStore_Demo>("shop-b")
    .WithHttpEndpoint()
    .WithHttpHealthCheck("/health")
    .WithReference(etcd)
    .WaitFor(shopA);
// [/apphost]

// Each shop's pages name it and link to the same page on the other.
shopA.WithEnvironment("Demo__InstanceName", "shop-a").WithEnvironment("Demo__PeerUrl", shopB.GetEndpoint("http"));
shopB.WithEnvironment("Demo__InstanceName", "shop-b").WithEnvironment("Demo__PeerUrl", shopA.GetEndpoint("http"));

builder.Build().Run();
