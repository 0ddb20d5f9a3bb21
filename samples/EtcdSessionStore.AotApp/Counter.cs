namespace EtcdSessionStore.AotApp;

/// <summary>The visit count a request leaves in its session.</summary>
public sealed record Counter(int Count);
